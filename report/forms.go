package report

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/stats"
	"github.com/govsurvey/govsurvey/store"
)

// other is a form whose answers a figure sets beside this form's
// (FigureSpec.Forms): the seed's 图 2-1 puts the netizens' and the
// practitioners' gender side by side.
type other struct {
	form  *form.Form
	an    *stats.Analysis // unweighted
	label string          // its population in text, "参与调查的网络从业人员"
	// missing says why the form is left out (nil when it is not).
	missing Text
}

var (
	notRegistered = Text{"zh": "未登记", "en": "not registered"}
	notCleaned    = Text{"zh": "未清洗", "en": "not cleaned"}
	// classifiedPersonal: the question is personal or sensitive in that form.
	classifiedPersonal = Text{"zh": "该题属个人或敏感信息", "en": "the question is classified personal there"}
)

// loadOthers reads and analyses the forms the definition's figures set
// beside this one. A form not registered or not cleaned is no error: its
// figures show this form alone and say why.
func loadOthers(ctx context.Context, st store.Store, def *Definition, lang string, progress func(string),
	analyse func(*wave) (*stats.Analysis, error)) (map[string]*other, error) {
	out := map[string]*other{}
	for _, ch := range def.Chapters {
		for _, fs := range ch.Figures {
			for _, id := range fs.Forms {
				if _, done := out[id]; done {
					continue
				}
				progress(stage(lang, "读取 %s 的问卷", "load %s", id))
				o := &other{label: id}
				out[id] = o
				fv, err := st.Form(ctx, id)
				if errors.Is(err, store.ErrNotFound) {
					o.missing = notRegistered
					continue
				}
				if err != nil {
					return nil, fmt.Errorf("report: form %s: %w", id, err)
				}
				if o.form, err = form.FromDefinition(fv.Definition); err != nil {
					return nil, fmt.Errorf("report: form %s: %w", id, err)
				}
				if d, err := DefinitionFor(o.form); err == nil && d.Population.In(lang) != "" {
					o.label = d.Population.In(lang)
				} else if t := formTitle(o.form, lang); t != "" {
					o.label = t
				}
				w, err := loadWave(ctx, st, o.form)
				if errors.Is(err, ErrNotCleaned) {
					o.missing = notCleaned
					continue
				}
				if err != nil {
					return nil, err
				}
				progress(stage(lang, "统计 %s", "analyse %s", id))
				if o.an, err = analyse(w); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

// formsFigure: one question of this form and of the forms beside it, a
// column each, choices matched by name. Every form's figure is
// unweighted: the forms' populations differ, and so would their margins.
func (b *builder) formsFigure(fig *Figure, fs FigureSpec) error {
	qt := findQuestion(b.r.Unweighted, fs.Question)
	if qt == nil {
		return fmt.Errorf("report: question %s is not tabulated in form %s", fs.Question, b.f.ID)
	}
	fig.Title = fs.Title.In(b.lang)
	if fig.Title == "" {
		fig.Title = qt.Label
	}
	type column struct {
		label string
		qt    *stats.QuestionTable
	}
	cols := []column{{b.population(), qt}}
	var left []string
	for _, id := range fs.Forms {
		o := b.others[id]
		if o.missing != nil {
			left = append(left, b.t(id+"（"+o.missing.In("zh")+"）", id+" ("+o.missing.In("en")+")"))
			continue
		}
		// Check saw only this form: the same question may be personal in
		// the other, and a report does not chart personal answers.
		if q := o.form.Question(fs.Question); q != nil && security.Personal(q) {
			left = append(left, b.t(id+"（"+classifiedPersonal.In("zh")+"）", id+" ("+classifiedPersonal.In("en")+")"))
			continue
		}
		oq := findQuestion(o.an, fs.Question)
		if oq == nil {
			return fmt.Errorf("report: form %s, set beside %s, does not tabulate question %s", id, b.f.ID, fs.Question)
		}
		cols = append(cols, column{o.label, oq})
	}
	// The choices of every form, this form's first, each once.
	var names []string
	labels := map[string]string{}
	for _, c := range cols {
		for _, ch := range c.qt.Choices {
			if _, seen := labels[ch.Name]; !seen {
				names = append(names, ch.Name)
				labels[ch.Name] = b.label(fs, ch.Name, ch.Label)
			}
		}
	}
	multiple := qt.Type == "select_multiple"
	fig.Table.Header = []string{b.t("选项", "Choice")}
	percent := make([]map[string]stats.Num, len(cols))
	for i, c := range cols {
		fig.Table.Header = append(fig.Table.Header, c.label+b.t("（%）", " (%)"))
		percent[i] = map[string]stats.Num{}
		for _, ch := range c.qt.Choices {
			percent[i][ch.Name] = b.shown(ch.Percent, c.qt.Base)
		}
	}
	for _, name := range names {
		r := []Cell{textCell(labels[name])}
		for i := range cols {
			p, ok := percent[i][name]
			if !ok {
				p = stats.Num(math.NaN())
			}
			r = append(r, pctCell(p))
		}
		fig.Table.Rows = append(fig.Table.Rows, r)
	}
	baseRow := []Cell{textCell(b.t("基数", "Base"))}
	var bases []string
	for _, c := range cols {
		baseRow = append(baseRow, countCell(float64(c.qt.Base)))
		bases = append(bases, c.label+" n = "+count(float64(c.qt.Base)))
	}
	fig.Table.Rows = append(fig.Table.Rows, baseRow)
	fig.Table.Notes = []string{
		b.t("基数：各调查回答本题的有效问卷，"+strings.Join(bases, "，")+"。", "Bases: valid responses answering the question, "+strings.Join(bases, ", ")+"."),
		b.t("各调查分别清洗，比例未加权。", "Each survey cleaned on its own; percentages unweighted."),
	}
	if multiple {
		fig.Table.Notes = append(fig.Table.Notes, b.t("多选题：各选项比例以回答本题的人数为基数，之和可超过 100%。", "Multiple choice: each share is of those answering, so shares can sum past 100%."))
	}
	if len(left) > 0 {
		fig.Table.Notes = append(fig.Table.Notes, b.t("未列入："+strings.Join(left, "、")+"。", "Left out: "+strings.Join(left, ", ")+"."))
	}

	for _, c := range cols {
		if b.suppressed(c.qt.Base) {
			fig.Narrative = append(fig.Narrative, b.t(c.label+"中回答本题的人数过少，比例不予报告。", "Too few of "+c.label+" answered for percentages to be reported."))
			continue
		}
		rows := make([]row, len(c.qt.Choices))
		for j, ch := range c.qt.Choices {
			rows[j] = row{ch.Name, labels[ch.Name], ch}
		}
		top := b.topOf(fs, c.qt, len(rows))
		if fs.Sort == "desc" || top < len(rows) {
			slices.SortStableFunc(rows, func(x, y row) int { return cmpNum(float64(y.est.Percent), float64(x.est.Percent)) })
		}
		fig.Narrative = append(fig.Narrative, b.shareSentence(c.label, rows, top, len(rows), multiple))
	}

	o := b.chartBase()
	o["tooltip"] = obj{"trigger": "axis"}
	var cats []string
	for _, name := range names {
		cats = append(cats, labels[name])
	}
	label := obj{"show": true, "position": "top", "fontSize": 10}
	var series []obj
	for i, c := range cols {
		var data []any
		for _, name := range names {
			p, ok := percent[i][name]
			if !ok {
				p = stats.Num(math.NaN())
			}
			data = append(data, point(p, ""))
		}
		series = append(series, obj{"type": "bar", "name": c.label, "data": data, "label": label})
	}
	o["legend"] = obj{"top": 0}
	o["grid"] = obj{"left": 8, "right": 8, "top": 36, "bottom": 8, "containLabel": true}
	o["xAxis"] = obj{"type": "category", "data": cats, "axisLabel": obj{"interval": 0, "rotate": rotate(cats)}}
	o["yAxis"] = obj{"type": "value", "axisLabel": obj{"formatter": "{value}%"}}
	o["series"] = series
	fig.option = marshal(o)
	return nil
}
