package report

import (
	"encoding/json"
	"math"
	"slices"

	"github.com/govsurvey/govsurvey/stats"
)

// ECharts options are built as plain maps and marshalled: the page and
// the PNG/SVG renderer get the same JSON. Values are the formatted
// percentages (json.Number(pct(x))), so a chart label shows exactly what
// the table and the text do. Animation is off: a rendered image must show
// the finished chart.

type obj = map[string]any

func num(x stats.Num) any {
	s := pct(x)
	if s == "–" {
		return nil
	}
	return json.Number(s)
}

// point is one data item whose label is the formatted percentage: ECharts
// would print 23.60 as 23.6, which is not what the table says.
func point(x stats.Num, label string) obj {
	v := num(x)
	if v == nil {
		return obj{"value": nil}
	}
	return obj{"value": v, "label": obj{"formatter": label + pct(x) + "%"}}
}

func (b *builder) chartBase() obj {
	return obj{
		"animation":       false,
		"backgroundColor": "#ffffff",
		"textStyle":       obj{"fontFamily": "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, sans-serif"},
		"color":           []string{"#2f5597", "#c55a11", "#548235", "#7f6000", "#7030a0", "#1f7a8c", "#bf9000", "#843c0c", "#375623", "#44546a", "#a5a5a5", "#264478"},
		"tooltip":         obj{"trigger": "item"},
	}
}

func marshal(o obj) json.RawMessage {
	b, err := json.Marshal(o)
	if err != nil {
		// Maps of strings and numbers always marshal.
		panic("report: option: " + err.Error())
	}
	return b
}

// singleOption is a pie, donut, bar, horizontal bar or ranked bars of one
// question's choices (nets are in the table, not the chart: they would
// count responses twice).
func (b *builder) singleOption(fs FigureSpec, rows []row, qt *stats.QuestionTable) json.RawMessage {
	o := b.chartBase()
	names := make([]string, len(rows))
	values := make([]any, len(rows))
	for i, r := range rows {
		names[i] = r.label
		values[i] = point(b.shown(r.est.Percent, qt.Base), "")
	}
	switch fs.Kind {
	case KindPie, KindDonut:
		data := make([]obj, len(rows))
		for i, r := range rows {
			data[i] = point(b.shown(r.est.Percent, qt.Base), r.label+"\n")
			data[i]["name"] = r.label
		}
		radius := any("62%")
		if fs.Kind == KindDonut {
			radius = []string{"38%", "65%"}
		}
		o["legend"] = obj{"bottom": 0}
		o["series"] = []obj{{"type": "pie", "radius": radius, "center": []string{"50%", "46%"}, "data": data,
			"label": obj{"show": true}}}
	case KindHBar, KindRanked:
		// Horizontal bars read top down: ECharts draws the first category
		// at the bottom, so the order is reversed.
		n := slices.Clone(names)
		v := slices.Clone(values)
		slices.Reverse(n)
		slices.Reverse(v)
		o["grid"] = obj{"left": 8, "right": 56, "top": 8, "bottom": 8, "containLabel": true}
		o["xAxis"] = obj{"type": "value", "axisLabel": obj{"formatter": "{value}%"}}
		o["yAxis"] = obj{"type": "category", "data": n, "axisLabel": obj{"interval": 0}}
		o["series"] = []obj{{"type": "bar", "data": v, "label": obj{"show": true, "position": "right"}}}
	default: // bar
		o["grid"] = obj{"left": 8, "right": 8, "top": 24, "bottom": 8, "containLabel": true}
		o["xAxis"] = obj{"type": "category", "data": names, "axisLabel": obj{"interval": 0, "rotate": rotate(names)}}
		o["yAxis"] = obj{"type": "value", "axisLabel": obj{"formatter": "{value}%"}}
		o["series"] = []obj{{"type": "bar", "data": values, "label": obj{"show": true, "position": "top"}}}
	}
	return marshal(o)
}

// legendTop leaves room above the plot for a legend of the question's
// choices, which wraps onto several lines when the labels are long.
func legendTop(qt *stats.QuestionTable, labels map[string]string) int {
	width := 0
	for _, c := range qt.Choices {
		width += len([]rune(labels[c.Name])) + 4
	}
	return 16 + 24*((width+59)/60)
}

// rotate tilts category labels when there are many or long ones.
func rotate(names []string) int {
	total := 0
	for _, n := range names {
		total += len([]rune(n))
	}
	if total > 40 {
		return 30
	}
	return 0
}

// waveOption: grouped bars, the base wave beside this one for every choice.
func (b *builder) waveOption(qc *stats.QuestionChange, labels map[string]string, base, cur string, supp bool) json.RawMessage {
	o := b.chartBase()
	o["tooltip"] = obj{"trigger": "axis"}
	var names []string
	var was, now []any
	for _, c := range qc.Choices {
		names = append(names, labels[c.Name])
		bp, p := c.BasePercent, c.Percent
		if supp {
			bp, p = stats.Num(math.NaN()), stats.Num(math.NaN())
		}
		was = append(was, point(bp, ""))
		now = append(now, point(p, ""))
	}
	label := obj{"show": true, "position": "top", "fontSize": 10}
	o["legend"] = obj{"top": 0}
	o["grid"] = obj{"left": 8, "right": 8, "top": 36, "bottom": 8, "containLabel": true}
	o["xAxis"] = obj{"type": "category", "data": names, "axisLabel": obj{"interval": 0, "rotate": rotate(names)}}
	o["yAxis"] = obj{"type": "value", "axisLabel": obj{"formatter": "{value}%"}}
	o["series"] = []obj{
		{"type": "bar", "name": base, "data": was, "label": label},
		{"type": "bar", "name": cur, "data": now, "label": label},
	}
	return marshal(o)
}

// groupOption: for a single choice, 100% stacked horizontal bars, one per
// group; for a multiple choice the groups' bars stand side by side, as
// the shares do not add up.
func (b *builder) groupOption(qt *stats.QuestionTable, ct *stats.Crosstab, k int, labels map[string]string, multiple bool) json.RawMessage {
	o := b.chartBase()
	o["tooltip"] = obj{"trigger": "axis", "axisPointer": obj{"type": "shadow"}}
	o["legend"] = obj{"top": 0}
	var groups []string
	for _, g := range ct.Groups {
		groups = append(groups, g.Label)
	}
	rev := slices.Clone(groups)
	slices.Reverse(rev)
	var series []obj
	for j, c := range qt.Choices {
		var data []any
		for g := len(ct.Groups) - 1; g >= 0; g-- {
			q := ct.Groups[g].Questions[k]
			data = append(data, point(b.shown(q.Choices[j].Percent, q.Base), ""))
		}
		bar := obj{"type": "bar", "name": labels[c.Name], "data": data}
		if multiple {
			bar["label"] = obj{"show": true, "position": "right", "fontSize": 9}
		} else {
			bar["stack"] = "total"
			bar["label"] = obj{"show": true, "fontSize": 10}
		}
		series = append(series, bar)
	}
	if multiple {
		// Groups down the side, one bar per choice in each: the shares
		// of a multiple choice do not add up to a stack.
		o["grid"] = obj{"left": 8, "right": 48, "top": legendTop(qt, labels), "bottom": 8, "containLabel": true}
		o["xAxis"] = obj{"type": "value", "axisLabel": obj{"formatter": "{value}%"}}
	} else {
		o["grid"] = obj{"left": 8, "right": 16, "top": 36, "bottom": 8, "containLabel": true}
		o["xAxis"] = obj{"type": "value", "max": 100, "axisLabel": obj{"formatter": "{value}%"}}
	}
	o["yAxis"] = obj{"type": "category", "data": rev, "axisLabel": obj{"interval": 0}}
	o["series"] = series
	return marshal(o)
}
