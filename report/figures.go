package report

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/govsurvey/govsurvey/stats"
)

// figure builds one figure from its spec (its number is set by Build).
func (b *builder) figure(fs FigureSpec) (*Figure, error) {
	fig := &Figure{Kind: fs.Kind, Question: fs.Question, Section: fs.Section.In(b.lang)}
	if len(fs.Forms) > 0 {
		return fig, b.formsFigure(fig, fs)
	}
	an := b.analysis(fs)
	qt := findQuestion(an, fs.Question)
	if qt == nil {
		return nil, fmt.Errorf("report: question %s is not tabulated in form %s", fs.Question, b.f.ID)
	}
	fig.Title = fs.Title.In(b.lang)
	if fig.Title == "" {
		fig.Title = qt.Label
	}
	switch fs.Kind {
	case KindGrouped:
		if qc := b.change(fs); qc != nil {
			b.waveFigure(fig, fs, qt, qc)
			return fig, nil
		}
		// No base wave to compare with: this wave alone, as bars.
		b.singleFigure(fig, fs, qt, an)
		fig.Table.Notes = append(fig.Table.Notes, b.t("未提供可对比的上一轮调查数据，仅显示本轮结果。", "No earlier wave to compare with: this wave only."))
	case KindStacked:
		ct := findCrosstab(an, fs.By)
		if ct == nil {
			return nil, fmt.Errorf("report: no cross-tab by %s", fs.By)
		}
		if err := b.groupFigure(fig, fs, qt, ct); err != nil {
			return nil, err
		}
	default:
		b.singleFigure(fig, fs, qt, an)
	}
	return fig, nil
}

func (b *builder) analysis(fs FigureSpec) *stats.Analysis {
	if fs.Unweighted {
		return b.r.Unweighted
	}
	return b.r.Analysis
}

func (b *builder) weighted(fs FigureSpec) bool { return !fs.Unweighted && b.weighting != nil }

// change returns the wave comparison of a figure's question, or nil.
func (b *builder) change(fs FigureSpec) *stats.QuestionChange {
	cmp := b.r.Comparison
	if b.weighted(fs) {
		cmp = b.r.ComparisonW
	}
	if cmp == nil {
		return nil
	}
	for i := range cmp.Questions {
		if cmp.Questions[i].Name == fs.Question {
			return &cmp.Questions[i]
		}
	}
	return nil
}

func findQuestion(an *stats.Analysis, name string) *stats.QuestionTable {
	for i := range an.Questions {
		if an.Questions[i].Name == name {
			return &an.Questions[i]
		}
	}
	return nil
}

func findCrosstab(an *stats.Analysis, by string) *stats.Crosstab {
	for i := range an.Crosstabs {
		if an.Crosstabs[i].By == by {
			return &an.Crosstabs[i]
		}
	}
	return nil
}

// label is a choice's label in text: the figure's override, or the form's.
func (b *builder) label(fs FigureSpec, name, formLabel string) string {
	if t, ok := fs.Labels[name]; ok {
		if s := t.In(b.lang); s != "" {
			return s
		}
	}
	if formLabel != "" {
		return formLabel
	}
	return name
}

func (b *builder) netLabel(question, name string) string {
	for _, n := range b.def.Nets {
		if n.Question == question && n.Name == name {
			if s := n.Label.In(b.lang); s != "" {
				return s
			}
		}
	}
	return name
}

func (b *builder) population() string {
	if s := b.def.Population.In(b.lang); s != "" {
		return s
	}
	return b.t("参与调查的受访者", "the respondents")
}

// suppressed reports whether a base is too small to report under the
// definition's rule.
func (b *builder) suppressed(base int) bool { return b.def.MinBase > 0 && base < b.def.MinBase }

// shown is a percentage as reported: NaN when its base is suppressed.
func (b *builder) shown(p stats.Num, base int) stats.Num {
	if b.suppressed(base) {
		return stats.Num(math.NaN())
	}
	return p
}

type row struct {
	name, label string
	est         stats.ChoiceEstimate
}

// ordered returns the choices of a table, largest first when asked.
func (b *builder) ordered(fs FigureSpec, qt *stats.QuestionTable) []row {
	out := make([]row, len(qt.Choices))
	for i, c := range qt.Choices {
		out[i] = row{c.Name, b.label(fs, c.Name, c.Label), c}
	}
	if fs.Sort == "desc" || fs.Kind == KindRanked {
		slices.SortStableFunc(out, func(x, y row) int {
			return cmpNum(float64(y.est.Percent), float64(x.est.Percent))
		})
	}
	return out
}

func cmpNum(a, b float64) int {
	switch {
	case a < b || (math.IsNaN(a) && !math.IsNaN(b)):
		return -1
	case a > b || (!math.IsNaN(a) && math.IsNaN(b)):
		return 1
	}
	return 0
}

func (b *builder) topOf(fs FigureSpec, qt *stats.QuestionTable, n int) int {
	if fs.Top > 0 {
		return min(fs.Top, n)
	}
	limit := 8
	if qt.Type == "select_multiple" {
		limit = 6
	}
	if n <= limit {
		return n
	}
	if qt.Type == "select_multiple" {
		return 5
	}
	return 3
}

func (b *builder) baseNote(base int, weighted bool, multiple bool) []string {
	var notes []string
	notes = append(notes, b.t("基数：回答本题的有效问卷 n = ", "Base: valid responses answering the question, n = ")+count(float64(base))+b.t("。", "."))
	if weighted {
		notes = append(notes, b.t("比例为加权估计，置信区间按设计计算。", "Percentages are weighted estimates; intervals are design-based."))
	}
	if multiple {
		notes = append(notes, b.t("多选题：各选项比例以回答本题的人数为基数，之和可超过 100%。", "Multiple choice: each share is of those answering, so shares can sum past 100%."))
	}
	if b.suppressed(base) {
		notes = append(notes, b.t(fmt.Sprintf("基数少于 %d，比例不予报告。", b.def.MinBase), fmt.Sprintf("Base below %d: percentages suppressed.", b.def.MinBase)))
	}
	return notes
}

// singleFigure: one question's choices (and nets) over its base.
func (b *builder) singleFigure(fig *Figure, fs FigureSpec, qt *stats.QuestionTable, an *stats.Analysis) {
	weighted := b.weighted(fs)
	multiple := qt.Type == "select_multiple"
	rows := b.ordered(fs, qt)
	ciHead := fmt.Sprintf(b.t("%g%% 置信区间", "%g%% CI"), 100*an.CILevel)
	pHead := b.t("比例（%）", "Percent")
	if weighted {
		pHead = b.t("加权比例（%）", "Weighted percent")
	}
	fig.Table.Header = []string{b.t("选项", "Choice"), b.t("样本数", "Responses"), pHead, ciHead}
	addRow := func(label string, e stats.ChoiceEstimate) {
		n := float64(e.Count)
		if e.UnweightedCount != nil {
			n = float64(*e.UnweightedCount)
		}
		p := b.shown(e.Percent, qt.Base)
		ci := textCell("–")
		if !math.IsNaN(float64(p)) && !math.IsNaN(float64(e.CILow)) {
			ci = textCell(pct(e.CILow) + "–" + pct(e.CIHigh))
		}
		fig.Table.Rows = append(fig.Table.Rows, []Cell{textCell(label), countCell(n), pctCell(p), ci})
	}
	for _, r := range rows {
		addRow(r.label, r.est)
	}
	for _, n := range qt.Nets {
		addRow(b.t("合计：", "Net: ")+b.netLabel(qt.Name, n.Name), n)
	}
	fig.Table.Rows = append(fig.Table.Rows, []Cell{textCell(b.t("基数", "Base")), countCell(float64(qt.Base)), textCell(""), textCell("")})
	fig.Table.Notes = b.baseNote(qt.Base, weighted, multiple)

	// Sentences.
	pop := b.population()
	if b.suppressed(qt.Base) {
		fig.Narrative = append(fig.Narrative, b.t(pop+"中回答本题的人数过少，比例不予报告。", "Too few of "+pop+" answered for percentages to be reported."))
	} else {
		named := rows
		if fs.Sort != "desc" && fs.Kind != KindRanked && b.topOf(fs, qt, len(rows)) < len(rows) {
			// Naming the largest few: largest first whatever the table's order.
			named = slices.Clone(rows)
			slices.SortStableFunc(named, func(x, y row) int { return cmpNum(float64(y.est.Percent), float64(x.est.Percent)) })
		}
		top := b.topOf(fs, qt, len(rows))
		fig.Narrative = append(fig.Narrative, b.shareSentence(pop, named, top, len(rows), multiple))
		for _, n := range qt.Nets {
			fig.Narrative = append(fig.Narrative, b.t(
				"其中"+b.netLabel(qt.Name, n.Name)+"的合计占比 "+pct(n.Percent)+"%。",
				"In all, "+pct(n.Percent)+"% "+b.netLabel(qt.Name, n.Name)+"."))
		}
	}
	if fs.Kind != KindTable {
		fig.option = b.singleOption(fs, rows, qt)
	}
}

// shareSentence names the shares of the first top rows.
func (b *builder) shareSentence(pop string, rows []row, top, all int, multiple bool) string {
	if top >= all && !multiple {
		parts := make([]string, len(rows))
		for i, r := range rows {
			parts[i] = b.t(r.label+"占比 "+pct(r.est.Percent)+"%", r.label+" "+pct(r.est.Percent)+"%")
		}
		return b.t(pop+"中，"+strings.Join(parts, "，")+"。", "Among "+pop+": "+strings.Join(parts, ", ")+".")
	}
	if len(rows) == 0 {
		return ""
	}
	first := rows[0]
	var rest []string
	for _, r := range rows[1:min(top, len(rows))] {
		rest = append(rest, b.t("“"+r.label+"”（"+pct(r.est.Percent)+"%）", r.label+" ("+pct(r.est.Percent)+"%)"))
	}
	if multiple {
		s := b.t(pop+"中，选择“"+first.label+"”的比例最高，为 "+pct(first.est.Percent)+"%",
			"Of "+pop+", the most chose "+first.label+" ("+pct(first.est.Percent)+"%)")
		if len(rest) > 0 {
			s += b.t("；其次是"+strings.Join(rest, "、"), ", followed by "+strings.Join(rest, ", "))
		}
		return s + b.t("。", ".")
	}
	s := b.t(pop+"中，占比最高的是“"+first.label+"”（"+pct(first.est.Percent)+"%）",
		"Among "+pop+", the largest share is "+first.label+" ("+pct(first.est.Percent)+"%)")
	if len(rest) > 0 {
		s += b.t("，其次是"+strings.Join(rest, "、"), ", followed by "+strings.Join(rest, ", "))
	}
	return s + b.t("。", ".")
}

// waveLabels are the two waves' names in text and the phrase for the base
// wave ("去年" when it is the year before).
func (b *builder) waveLabels() (cur, base, since string) {
	cur = b.f.Version
	if cur == "" {
		cur = b.f.ID
	}
	base = b.def.BaseLabel
	if base == "" && b.base != nil {
		base = b.base.form.Version
	}
	if base == "" && b.base != nil {
		base = b.base.form.ID
	}
	cy, err1 := strconv.Atoi(cur)
	by, err2 := strconv.Atoi(base)
	switch {
	case err1 == nil && err2 == nil && cy-by == 1:
		since = b.t("去年", "the previous year")
	default:
		since = b.t(base+" 年", base)
	}
	if err1 == nil {
		cur = b.t(cur+" 年", cur)
	}
	if err2 == nil {
		base = b.t(base+" 年", base)
	}
	return cur, base, since
}

// significant reports whether a change is significant at the report's
// level by the comparison's test.
func (b *builder) significant(c stats.ChoiceChange) bool {
	p := float64(c.PValue)
	return !math.IsNaN(p) && p < 1-b.level
}

// changeWords describes a change: the direction, the size in points and,
// only when the test says so, that it is marked.
func (b *builder) changeWords(c stats.ChoiceChange) string {
	d := float64(c.Diff)
	size := pct(stats.Num(math.Abs(d)))
	switch {
	case size == "0.00":
		return b.t("基本持平", "unchanged")
	case d > 0 && b.significant(c):
		return b.t("增加了 "+size+" 个百分点，明显提升", "up "+size+" points, a significant rise")
	case d < 0 && b.significant(c):
		return b.t("减少了 "+size+" 个百分点，明显下降", "down "+size+" points, a significant fall")
	case d > 0:
		return b.t("增加了 "+size+" 个百分点，变化不显著", "up "+size+" points, not significant")
	default:
		return b.t("减少了 "+size+" 个百分点，变化不显著", "down "+size+" points, not significant")
	}
}

// waveFigure: the question in both waves, with the change of every
// choice and net and its test.
func (b *builder) waveFigure(fig *Figure, fs FigureSpec, qt *stats.QuestionTable, qc *stats.QuestionChange) {
	cur, base, since := b.waveLabels()
	fig.Table.Header = []string{b.t("选项", "Choice"), base + b.t("（%）", " (%)"), cur + b.t("（%）", " (%)"),
		b.t("变化（百分点）", "Change (points)"), b.t("p 值", "p")}
	labels := map[string]string{}
	for _, c := range qt.Choices {
		labels[c.Name] = b.label(fs, c.Name, c.Label)
	}
	supp := b.suppressed(qc.Base) || b.suppressed(qc.BaseBase)
	add := func(label string, c stats.ChoiceChange) {
		p, bp, d := c.Percent, c.BasePercent, c.Diff
		if supp {
			nan := stats.Num(math.NaN())
			p, bp, d = nan, nan, nan
		}
		fig.Table.Rows = append(fig.Table.Rows, []Cell{textCell(label), pctCell(bp), pctCell(p), pointsCell(d), textCell(pvalue(c.PValue))})
	}
	for _, c := range qc.Choices {
		add(labels[c.Name], c)
	}
	for _, n := range qc.Nets {
		add(b.t("合计：", "Net: ")+b.netLabel(qc.Name, n.Name), n)
	}
	fig.Table.Rows = append(fig.Table.Rows, []Cell{textCell(b.t("基数", "Base")), countCell(float64(qc.BaseBase)), countCell(float64(qc.Base)), textCell(""), textCell("")})
	fig.Table.Notes = []string{
		b.t(fmt.Sprintf("基数：%s n = %s，%s n = %s。", cur, count(float64(qc.Base)), base, count(float64(qc.BaseBase))),
			fmt.Sprintf("Bases: %s n = %s, %s n = %s.", cur, count(float64(qc.Base)), base, count(float64(qc.BaseBase)))),
		b.t("两轮调查视为独立样本，差异按正态分布检验，p < "+b.alpha()+" 为显著。",
			"The waves are independent samples; the change is tested against the normal distribution, significant when p < "+b.alpha()+"."),
	}
	if b.weighted(fs) {
		fig.Table.Notes = append(fig.Table.Notes, b.t("两轮均按相同边际加权。", "Both waves weighted to the same margins."))
	}
	if supp {
		fig.Narrative = []string{b.t("回答本题的人数过少，比例不予报告。", "Too few answered for percentages to be reported.")}
	} else {
		if len(qc.Choices) <= 8 {
			var was, now []string
			for _, c := range qc.Choices {
				was = append(was, b.t(labels[c.Name]+"占比 "+pct(c.BasePercent)+"%", labels[c.Name]+" "+pct(c.BasePercent)+"%"))
				now = append(now, b.t(labels[c.Name]+"占比 "+pct(c.Percent)+"%", labels[c.Name]+" "+pct(c.Percent)+"%"))
			}
			fig.Narrative = append(fig.Narrative, b.t(
				base+"，"+strings.Join(was, "，")+"；"+cur+"，"+strings.Join(now, "，")+"。",
				"In "+base+": "+strings.Join(was, ", ")+"; in "+cur+": "+strings.Join(now, ", ")+"."))
		}
		for _, n := range qc.Nets {
			l := b.netLabel(qc.Name, n.Name)
			fig.Narrative = append(fig.Narrative, b.t(
				l+"的比例为 "+pct(n.Percent)+"%（"+base+"为 "+pct(n.BasePercent)+"%），较"+since+b.changeWords(n)+"。",
				"The share who "+l+" is "+pct(n.Percent)+"% ("+pct(n.BasePercent)+"% in "+base+"), "+b.changeWords(n)+" on "+since+"."))
		}
		var parts []string
		for _, c := range qc.Choices {
			if len(qc.Choices) > 8 && !b.significant(c) {
				continue
			}
			parts = append(parts, b.t(labels[c.Name]+"占比较"+since+b.changeWords(c), labels[c.Name]+" "+b.changeWords(c)))
		}
		switch {
		case len(parts) > 0:
			fig.Narrative = append(fig.Narrative, b.t("与"+base+"相比，"+strings.Join(parts, "；")+"。",
				"Compared with "+base+": "+strings.Join(parts, "; ")+"."))
		default:
			fig.Narrative = append(fig.Narrative, b.t("与"+base+"相比，各选项占比均无显著变化。",
				"Compared with "+base+", no choice changed significantly."))
		}
	}
	fig.option = b.waveOption(qc, labels, base, cur, supp)
}

// groupFigure: the question within the groups of a single-choice field.
func (b *builder) groupFigure(fig *Figure, fs FigureSpec, qt *stats.QuestionTable, ct *stats.Crosstab) error {
	k := -1
	for i, q := range ct.Groups[0].Questions {
		if q.Name == fs.Question {
			k = i
		}
	}
	if k < 0 {
		return fmt.Errorf("report: cross-tab by %s lacks %s", fs.By, fs.Question)
	}
	multiple := qt.Type == "select_multiple"
	byLabel := ct.Label
	if b.lang == "zh" {
		// A question put to the respondent ("您的从业岗位") reads as a
		// heading in the report's third person ("按从业岗位分").
		byLabel = strings.TrimPrefix(byLabel, "您的")
	}
	fig.Table.Header = []string{byLabel, b.t("基数", "Base")}
	var cols []string // choice names then nets
	labels := map[string]string{}
	for _, c := range qt.Choices {
		labels[c.Name] = b.label(fs, c.Name, c.Label)
		cols = append(cols, c.Name)
		fig.Table.Header = append(fig.Table.Header, labels[c.Name]+b.t("（%）", " (%)"))
	}
	for _, n := range qt.Nets {
		labels["net:"+n.Name] = b.netLabel(qt.Name, n.Name)
		fig.Table.Header = append(fig.Table.Header, b.t("合计：", "Net: ")+labels["net:"+n.Name]+b.t("（%）", " (%)"))
	}
	type gp struct {
		label string
		base  int
		p     map[string]stats.Num
	}
	var groups []gp
	for _, g := range ct.Groups {
		q := g.Questions[k]
		r := []Cell{textCell(g.Label), countCell(float64(q.Base))}
		x := gp{label: g.Label, base: q.Base, p: map[string]stats.Num{}}
		for _, c := range q.Choices {
			p := b.shown(c.Percent, q.Base)
			x.p[c.Name] = p
			r = append(r, pctCell(p))
		}
		for _, n := range q.Nets {
			p := b.shown(n.Percent, q.Base)
			x.p["net:"+n.Name] = p
			r = append(r, pctCell(p))
		}
		groups = append(groups, x)
		fig.Table.Rows = append(fig.Table.Rows, r)
	}
	fig.Table.Notes = b.baseNote(qt.Base, b.weighted(fs), multiple)
	fig.Table.Notes[0] = b.t("基数：各组回答本题的有效问卷数（见“基数”列），合计 n = ", "Base: valid responses answering, per group (column Base); in all n = ") + count(float64(qt.Base)) + b.t("。", ".")
	var test *stats.Association
	for i := range ct.Tests {
		if ct.Tests[i].Question == fs.Question {
			test = &ct.Tests[i]
		}
	}
	if test != nil {
		fig.Table.Notes = append(fig.Table.Notes, b.t("Rao–Scott 检验：", "Rao–Scott test: ")+"F = "+strconv.FormatFloat(test.Value, 'f', 2, 64)+", p "+pEq(stats.Num(test.PValue)))
	}

	// Sentences: for the leading choices (and nets), the groups where the
	// share is highest and lowest.
	var leads []string
	if multiple {
		rows := b.ordered(FigureSpec{Sort: "desc"}, qt)
		for _, r := range rows[:min(2, len(rows))] {
			leads = append(leads, r.name)
		}
	} else {
		leads = append(leads, qt.Choices[0].Name)
	}
	for _, n := range qt.Nets {
		leads = append(leads, "net:"+n.Name)
	}
	pop := b.population()
	for _, c := range leads {
		var hi, lo *gp
		for i := range groups {
			g := &groups[i]
			p := float64(g.p[c])
			if math.IsNaN(p) {
				continue
			}
			if hi == nil || p > float64(hi.p[c]) {
				hi = g
			}
			if lo == nil || p < float64(lo.p[c]) {
				lo = g
			}
		}
		if hi == nil || hi == lo {
			continue
		}
		what := "“" + labels[c] + "”"
		if strings.HasPrefix(c, "net:") {
			what = labels[c]
		}
		verb := b.t("认为", "")
		if multiple {
			verb = b.t("选择", "")
		}
		fig.Narrative = append(fig.Narrative, b.t(
			"按"+byLabel+"分，"+verb+what+"的比例最高的是"+hi.label+"（"+pct(hi.p[c])+"%），最低的是"+lo.label+"（"+pct(lo.p[c])+"%）。",
			"By "+byLabel+", the share of "+pop+" choosing "+labels[c]+" is highest among "+hi.label+" ("+pct(hi.p[c])+"%) and lowest among "+lo.label+" ("+pct(lo.p[c])+"%)."))
	}
	if test != nil {
		sig := !math.IsNaN(test.PValue) && test.PValue < 1-b.level
		word := b.t("不显著", "not significant")
		if sig {
			word = b.t("显著", "significant")
		}
		fig.Narrative = append(fig.Narrative, b.t(
			"不同"+byLabel+"之间的差异"+word+"（Rao–Scott 检验 p "+pEq(stats.Num(test.PValue))+"）。",
			"The differences between groups are "+word+" (Rao–Scott test, p "+pEq(stats.Num(test.PValue))+")."))
	}
	fig.option = b.groupOption(qt, ct, k, labels, multiple)
	return nil
}

// alpha is the significance level as written ("0.05").
func (b *builder) alpha() string {
	return strconv.FormatFloat(math.Round((1-b.level)*1e6)/1e6, 'f', -1, 64)
}

// pEq writes "= 0.123" or "< 0.001".
func pEq(p stats.Num) string {
	s := pvalue(p)
	if strings.HasPrefix(s, "<") {
		return s
	}
	return "= " + s
}
