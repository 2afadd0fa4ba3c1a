package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/govsurvey/govsurvey/clean"
	"github.com/govsurvey/govsurvey/stats"
)

// reasonLabel names a cleaning reason (CONTRACTS.md §3, docs/cleaning.md).
func (b *builder) reasonLabel(code string) string {
	labels := map[string][2]string{
		clean.ReasonDuplicate:      {"重复提交", "duplicate"},
		clean.ReasonSpeeding:       {"答题时间过短", "answered too fast"},
		clean.ReasonIncomplete:     {"必答题未完成", "incomplete"},
		clean.ReasonInvalidValue:   {"取值无效", "invalid value"},
		clean.ReasonHoneypot:       {"机器填写（隐藏字段被填写）", "bot (hidden field filled in)"},
		clean.ReasonStraightlining: {"连续相同作答", "straight-lining"},
		clean.ReasonAttention:      {"注意力检测未通过", "failed attention check"},
		clean.ReasonNearDuplicate:  {"近似重复", "near duplicate"},
		clean.ReasonBurst:          {"短时集中提交", "burst of submissions"},
	}
	if l, ok := labels[code]; ok {
		return b.t(l[0], l[1])
	}
	if name, ok := strings.CutPrefix(code, clean.ReasonConsistencyPrefix); ok {
		msg := name
		for _, c := range b.f.Checks {
			if c.Name == name {
				if m := textOf(c.Message, b.f).In(b.lang); m != "" {
					msg = m
				}
			}
		}
		return b.t("逻辑矛盾："+msg, "inconsistent: "+msg)
	}
	return code
}

// methods is chapter 1: how the data were collected, cleaned, weighted
// and tested, written from the data.
func (b *builder) methods() *Chapter {
	ch := &Chapter{Number: 1, Heading: b.heading(1, b.t("调查方法与数据说明", "Method and data"))}
	fun := b.r.Funnel
	version := b.f.Version
	// The English text names the form by its English title, or by its id
	// alone when it has none (not by its Chinese title).
	source := "form " + b.f.ID + ", version " + version
	if t := formTitle(b.f, "en"); t != "" {
		source = "“" + t + "” (" + source + ")"
	}
	ch.Intro = append(ch.Intro, b.t(
		"本报告依据“"+b.f.Title+"”（表单 "+b.f.ID+"，版本 "+version+"）的调查数据生成，文中的数字、图表与附表出自同一次统计计算。",
		"This report is generated from the data of "+source+"; every number in the text, the charts and the tables comes from the same computation."))
	switch first, last := b.cur.first, b.cur.last; {
	case first.IsZero():
	case date(first, "zh") == date(last, "zh"):
		// One day: "from 1 July to 1 July" reads as a slip.
		ch.Intro = append(ch.Intro, b.t(
			"调查于 "+date(first, "zh")+"（北京时间）在线收集。",
			"Responses were collected online on "+date(first, "en")+" (UTC+8)."))
	default:
		ch.Intro = append(ch.Intro, b.t(
			"调查于 "+date(first, "zh")+"至 "+date(last, "zh")+"（北京时间）在线收集。",
			"Responses were collected online from "+date(first, "en")+" to "+date(last, "en")+" (UTC+8)."))
	}
	dropped := fun.Collected - fun.Valid
	rate := stats.Num(math.NaN())
	if fun.Collected > 0 {
		rate = stats.Num(100 * float64(fun.Valid) / float64(fun.Collected))
	}
	ch.Intro = append(ch.Intro, b.t(
		"共收回问卷 "+count(float64(fun.Collected))+" 份，经数据清洗剔除无效问卷 "+count(float64(dropped))+" 份后，共有 "+count(float64(fun.Valid))+" 份问卷纳入统计，有效率 "+pct(rate)+"%。",
		count(float64(fun.Collected))+" questionnaires were collected; cleaning removed "+count(float64(dropped))+", leaving "+count(float64(fun.Valid))+" valid responses ("+pct(rate)+"%)."))
	rule := b.t("数据清洗按规则 "+fun.RuleVersion, "Cleaning applied rules "+fun.RuleVersion)
	if !fun.CleanedAt.IsZero() {
		rule += b.t("（"+date(fun.CleanedAt, "zh")+"执行）", " (run on "+date(fun.CleanedAt, "en")+")")
	}
	rule += b.t("，各原因标记的问卷数见表 1-1；同一问卷可能因多个原因被标记（"+count(float64(fun.Several))+" 份），故各原因之和可大于剔除数。",
		"; the responses flagged for each reason are in Table 1-1. A response can be flagged for several reasons ("+count(float64(fun.Several))+"), so the reasons can sum past the responses removed.")
	if fun.Overridden != 0 {
		rule += b.t("经人工复核改判的问卷净计 "+strconv.Itoa(fun.Overridden)+" 份。", " Analysts' overrides changed the valid count by "+strconv.Itoa(fun.Overridden)+".")
	}
	ch.Intro = append(ch.Intro, rule)
	if bf := b.r.BaseFunnel; bf != nil {
		_, base, _ := b.waveLabels()
		ch.Intro = append(ch.Intro, b.t(
			"对比数据为"+base+"同一问卷的调查（表单 "+b.base.form.ID+"），收回问卷 "+count(float64(bf.Collected))+" 份，有效问卷 "+count(float64(bf.Valid))+" 份，按相同规则清洗。",
			"The comparison wave is "+base+" (form "+b.base.form.ID+"): "+count(float64(bf.Collected))+" collected, "+count(float64(bf.Valid))+" valid, cleaned by the same rules."))
	}
	if wi := b.r.Analysis.Weights; wi != nil {
		ch.Intro = append(ch.Intro, b.t(
			fmt.Sprintf("除样本构成外，统计结果按 %s 的总体分布加权（方法 %s，边际来源 %s），加权目标见表 1-2。权重范围 %.3f–%.3f，Kish 设计效应 %.3f，有效样本量约 %s。标准误采用泰勒线性化方法计算，并计入加权调整。",
				strings.Join(wi.Fields, "、"), wi.Method, wi.Source, wi.Min, wi.Max, wi.KishDeff, count(wi.EffectiveN)),
			fmt.Sprintf("Apart from the make-up of the sample, estimates are weighted to the population margins of %s (method %s, margins from %s; targets in Table 1-2). Weights range from %.3f to %.3f; Kish's design effect is %.3f, an effective sample size of about %s. Standard errors are by Taylor linearisation, including the weighting adjustment.",
				strings.Join(wi.Fields, ", "), wi.Method, wi.Source, wi.Min, wi.Max, wi.KishDeff, count(wi.EffectiveN))))
	} else {
		ch.Intro = append(ch.Intro, b.t(
			"统计结果未加权，反映有效样本本身的构成；标准误按简单随机抽样计算。",
			"Estimates are unweighted and describe the valid sample as it is; standard errors treat it as a simple random sample."))
	}
	alpha := b.alpha()
	level := strconv.FormatFloat(100*b.level, 'g', 4, 64)
	ch.Intro = append(ch.Intro, b.t(
		"比例的 "+level+"% 置信区间采用 "+string(b.r.Analysis.CIMethod)+" 方法（与 R survey 包 svyciprop 一致）。两轮调查之间的差异按独立样本计算标准误并以正态分布检验，p < "+alpha+" 为显著；文中“明显提升”“明显下降”等措辞仅用于显著的变化。分组之间的差异采用 Rao–Scott 校正的卡方检验。",
		"Percentages carry "+level+"% confidence intervals by the "+string(b.r.Analysis.CIMethod)+" method (as R survey's svyciprop). Changes between waves treat the waves as independent samples and are tested against the normal distribution, significant when p < "+alpha+"; words such as “a significant rise” are used for significant changes only. Differences between groups are tested with the Rao–Scott corrected chi-square."))
	if b.def.MinBase > 0 {
		ch.Intro = append(ch.Intro, b.t(
			"基数少于 "+strconv.Itoa(b.def.MinBase)+" 的比例不予报告，表中以“–”表示。",
			"Percentages on a base below "+strconv.Itoa(b.def.MinBase)+" are suppressed and shown as “–”."))
	} else {
		ch.Intro = append(ch.Intro, b.t(
			"本报告未设小样本抑制规则；各表均列出基数，供判断估计精度。",
			"No suppression rule applies; every table gives its base so that precision can be judged."))
	}

	ch.Figures = append(ch.Figures, b.funnelTable())
	if wt := b.weightingTable(); wt != nil {
		ch.Figures = append(ch.Figures, wt)
	}
	return ch
}

// funnelTable is Table 1-1: collected, each reason, removed, valid — for
// this wave and the base wave.
func (b *builder) funnelTable() *Figure {
	fig := &Figure{ID: "tab-1-1", Number: b.t("表 ", "Table ") + "1-1", Kind: KindTable,
		Title: b.t("数据清洗情况", "Cleaning: from collected to valid responses")}
	cur, base, _ := b.waveLabels()
	fig.Table.Header = []string{b.t("项目", "Item"), cur + b.t("（份）", " (n)"), cur + b.t("（占收回 %）", " (% of collected)")}
	funnels := []Funnel{b.r.Funnel}
	if b.r.BaseFunnel != nil {
		funnels = append(funnels, *b.r.BaseFunnel)
		fig.Table.Header = append(fig.Table.Header, base+b.t("（份）", " (n)"), base+b.t("（占收回 %）", " (% of collected)"))
	}
	var reasons []string
	for _, f := range funnels {
		for _, r := range f.Reasons {
			if !contains(reasons, r) {
				reasons = append(reasons, r)
			}
		}
	}
	line := func(label string, n func(Funnel) int) {
		r := []Cell{textCell(label)}
		for _, f := range funnels {
			p := stats.Num(math.NaN())
			if f.Collected > 0 {
				p = stats.Num(100 * float64(n(f)) / float64(f.Collected))
			}
			r = append(r, countCell(float64(n(f))), pctCell(p))
		}
		fig.Table.Rows = append(fig.Table.Rows, r)
	}
	line(b.t("收回问卷", "Collected"), func(f Funnel) int { return f.Collected })
	for _, reason := range reasons {
		line(b.t("  标记：", "  flagged: ")+b.reasonLabel(reason), func(f Funnel) int { return f.InvalidByReason[reason] })
	}
	line(b.t("  多个原因", "  several reasons"), func(f Funnel) int { return f.Several })
	if b.r.Funnel.Overridden != 0 || (b.r.BaseFunnel != nil && b.r.BaseFunnel.Overridden != 0) {
		line(b.t("  人工改判（净）", "  overrides (net)"), func(f Funnel) int { return f.Overridden })
	}
	line(b.t("剔除无效问卷", "Removed"), func(f Funnel) int { return f.Collected - f.Valid })
	line(b.t("有效问卷", "Valid"), func(f Funnel) int { return f.Valid })
	fig.Table.Notes = []string{b.t("清洗规则版本 ", "Rules ") + b.r.Funnel.RuleVersion + b.t("；原因代码见 docs/cleaning.md。", "; reason codes in docs/cleaning.md.")}
	return fig
}

// weightingTable is Table 1-2: each margin's target beside the sample's
// unweighted and weighted shares.
func (b *builder) weightingTable() *Figure {
	wi := b.r.Analysis.Weights
	if wi == nil || b.weighting == nil {
		return nil
	}
	fig := &Figure{ID: "tab-1-2", Number: b.t("表 ", "Table ") + "1-2", Kind: KindTable,
		Title: b.t("加权目标与样本分布", "Weighting targets and the sample")}
	fig.Table.Header = []string{b.t("变量", "Field"), b.t("选项", "Choice"), b.t("总体目标（%）", "Target (%)"),
		b.t("样本（%）", "Sample (%)"), b.t("加权后（%）", "Weighted (%)")}
	for _, m := range b.weighting.Margins {
		var total float64
		for _, v := range m.Values {
			total += v
		}
		uq := findQuestion(b.r.Unweighted, m.Field)
		wq := findQuestion(b.r.Analysis, m.Field)
		for j, c := range m.Choices {
			target := stats.Num(100 * m.Values[j] / total)
			label, up, wp := c, stats.Num(math.NaN()), stats.Num(math.NaN())
			if uq != nil {
				for _, e := range uq.Choices {
					if e.Name == c {
						label, up = e.Label, e.Percent
					}
				}
			}
			if wq != nil {
				for _, e := range wq.Choices {
					if e.Name == c {
						wp = e.Percent
					}
				}
			}
			field := m.Field
			if uq != nil && uq.Label != "" {
				field = uq.Label
			}
			fig.Table.Rows = append(fig.Table.Rows, []Cell{textCell(field), textCell(label), pctCell(target), pctCell(up), pctCell(wp)})
		}
	}
	fig.Table.Notes = []string{
		fmt.Sprintf(b.t("权重范围 %.3f–%.3f，Kish 设计效应 %.3f，有效样本量约 %s；%d 次迭代，收敛：%v。", "Weights %.3f–%.3f, Kish design effect %.3f, effective n about %s; %d iterations, converged: %v."),
			wi.Min, wi.Max, wi.KishDeff, count(wi.EffectiveN), wi.Iterations, wi.Converged),
	}
	return fig
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
