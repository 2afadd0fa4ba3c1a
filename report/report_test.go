package report_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/report"
	"github.com/govsurvey/govsurvey/sample"
	"github.com/govsurvey/govsurvey/stats"
	"github.com/govsurvey/govsurvey/store"
)

// divisor scales the seed survey down for the unit tests: 3,790 netizens
// collected and 3,442 valid (the seed's 189,495 and 172,075 over 50). At
// this size largest-remainder allocation moves some published figures by
// a hundredth (22.46% stays, 11.38% becomes 11.39%), so the tests expect
// what the data give, computed here from the generator's responses;
// TestSeedReportFullSize checks the seed's own figures at full size.
const divisor = 50

// share is the percentage of responses whose answer to field is one of
// choices, computed from the generated responses without package stats.
func share(rs []sample.Response, field string, choices ...string) float64 {
	n, k := 0, 0
	for _, r := range rs {
		v, ok := r.Answers[field]
		if !ok || v == "" {
			continue
		}
		n++
		for _, c := range strings.Fields(v) {
			if slices.Contains(choices, c) {
				k++
				break
			}
		}
	}
	return 100 * float64(k) / float64(n)
}

// shareWithin is share among the responses whose answer to by is group.
func shareWithin(rs []sample.Response, by, group, field string, choices ...string) float64 {
	var in []sample.Response
	for _, r := range rs {
		if r.Answers[by] == group {
			in = append(in, r)
		}
	}
	return share(in, field, choices...)
}

func f2(x float64) string { return fmt.Sprintf("%.2f", x) }

// govServices are the sentences of the netizen report's chapter on
// government online services (the seed's chapter 四), with the shares
// pct gives.
func govServices(pct func(field string, choices ...string) string) []string {
	return []string{
		"使用过政府网上服务的网民占比 " + pct("used_gov_online", "yes") + "%，没有使用过的网民占比 " + pct("used_gov_online", "no") + "%。",
		"选择“银行”的比例最高，为 " + pct("gov_services_used", "bank") + "%；其次是“交通”（" + pct("gov_services_used", "transport") +
			"%）、“教育”（" + pct("gov_services_used", "education") + "%）、“社保”（" + pct("gov_services_used", "social_security") +
			"%）、“医疗”（" + pct("gov_services_used", "medical") + "%）。",
		"选择“教育”的比例最高，为 " + pct("gov_services_need", "education") + "%",
		"便捷占比 " + pct("convenient", "convenient") + "%",
		"选择“政务办理时效”的比例最高，为 " + pct("convenience_improve", "timeliness") + "%",
		"认为政府网上服务安全（非常安全与安全）的合计占比 " + pct("gov_security", "very_safe", "safe") + "%。",
		"选择“个人信息泄露”的比例最高，为 " + pct("gov_risks", "pii_leak") + "%",
		"选择“医疗”的比例最高，为 " + pct("leak_domains", "medical") + "%；其次是“教育”（" + pct("leak_domains", "education") +
			"%）、“就业”（" + pct("leak_domains", "employment") + "%）、“交通”（" + pct("leak_domains", "transport") +
			"%）、“住房”（" + pct("leak_domains", "housing") + "%）。",
		"现有标准弥补了立法空白占比 " + pct("legislation_view", "standards_fill_gap") + "%，需要出台个人信息专门立法占比 " +
			pct("legislation_view", "dedicated_law") + "%，继续出台强制标准占比 " + pct("legislation_view", "mandatory_standards") +
			"%，将现有标准转化为强制规定占比 " + pct("legislation_view", "convert_standards") + "%。",
		"“风险提示”（" + pct("gov_security_services", "risk_alert") + "%）、“免费工具使用”（" + pct("gov_security_services", "free_tools") +
			"%）、“投诉举报”（" + pct("gov_security_services", "complaint_report") + "%）。",
		"选择“完善法律法规，严厉打击违法犯罪”的比例最高，为 " + pct("gov_should", "laws_crackdown") + "%",
	}
}

// byRole are the practitioner report's sentences by job role that carry
// the seed's figures (图 3-3, 4-13, 4-14), with the shares pct gives.
func byRole(pct func(group, field string, choices ...string) string) []string {
	return []string{
		"认为“良好”的比例最高的是",
		"最低的是科研机构、大学（" + pct("research_univ", "security_status", "good") + "%）。",
		"选择“缺少网络安全专业技术人才”的比例最高的是政府网络安全监督管理部门（" + pct("gov_regulator", "supervision_gaps", "talent_shortage") + "%）",
		"选择“公民个人信息保护”的比例最高的是其他联网使用单位（" + pct("other_org", "legislation_priorities", "pi_protection") + "%）",
		"选择“网络平台责任”的比例最高的是网络服务提供者（网络安全相关工作）（" + pct("nsp_security", "legislation_priorities", "platform_liability") + "%）",
	}
}

// roleCell is the cell of a by-role figure's table in the row of group
// (by its label) and the column whose header starts with choice.
func roleCell(t *testing.T, r *report.Report, caption, group, choice string) string {
	t.Helper()
	for _, fig := range r.Figures() {
		if !strings.Contains(fig.Caption(), caption) {
			continue
		}
		col := slices.IndexFunc(fig.Table.Header, func(h string) bool { return strings.HasPrefix(h, choice) })
		for _, row := range fig.Table.Rows {
			if col > 0 && row[0].Text == group {
				return row[col].Text
			}
		}
	}
	t.Errorf("no cell %s / %s in %q", group, choice, caption)
	return ""
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// fixture is a store holding both netizen waves, generated and cleaned
// once for the tests that only read it.
type fixture struct {
	st            store.Store
	f, bf         *form.Form
	valid, bvalid []sample.Response
	pf, pbf       *form.Form
	pvalid        []sample.Response
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  string
)

func seedFixture(t *testing.T) *fixture {
	t.Helper()
	fixOnce.Do(func() {
		// The fixture outlives the test that makes it: its own store in
		// a directory removed by TestMain.
		st, err := store.OpenSQLite(t.Context(), filepath.Join(fixtureDir, "govsurvey.db"))
		if err != nil {
			fixErr = err.Error()
			return
		}
		ctx := t.Context()
		x := &fixture{st: st}
		x.f, x.valid = seedWave(t, ctx, st, "netizen_2019", divisor)
		x.bf, x.bvalid = seedWave(t, ctx, st, "netizen_2018", divisor)
		x.pf, x.pvalid = seedWave(t, ctx, st, "practitioner_2019", divisor)
		x.pbf, _ = seedWave(t, ctx, st, "practitioner_2018", divisor)
		fix = x
	})
	if fix == nil {
		t.Fatalf("fixture: %s", fixErr)
	}
	return fix
}

var fixtureDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "report-test")
	if err != nil {
		panic(err)
	}
	fixtureDir = dir
	code := m.Run()
	if fix != nil {
		fix.st.Close()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func build(t *testing.T, in report.Inputs) (*report.Report, string) {
	t.Helper()
	r, err := report.Build(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.HTML(&buf); err != nil {
		t.Fatal(err)
	}
	return r, buf.String()
}

// TestSeedReport: the netizen report of the seed survey (two waves)
// states the data's headline numbers in the seed's words, and has at
// least 20 numbered figures.
func TestSeedReport(t *testing.T) {
	x := seedFixture(t)
	plan, err := sample.SeedPlan("netizen_2019", divisor)
	if err != nil {
		t.Fatal(err)
	}
	r, page := build(t, report.Inputs{Store: x.st, Form: x.f, BaseForm: x.bf})

	improved := share(x.valid, "safety_change", "big_up", "up")
	improved18 := share(x.bvalid, "safety_change", "big_up", "up")
	want := []string{
		"共收回问卷 " + thousands(plan.Collected()) + " 份",
		"共有 " + thousands(plan.Valid) + " 份问卷纳入统计",
		"参与调查的公众网民中，男性占比 " + f2(share(x.valid, "gender", "male")) + "%，女性占比 " + f2(share(x.valid, "gender", "female")) + "%。",
		"12-18岁占比 " + f2(share(x.valid, "age_band", "a12_18")) + "%",
		"非常安全占比 " + f2(share(x.valid, "overall_safety", "very_safe")) + "%",
		"安全占比 " + f2(share(x.valid, "overall_safety", "safe")) + "%",
		"的比例为 " + f2(improved) + "%（2018 年为 " + f2(improved18) + "%），较去年增加了 " + f2(improved-improved18) + " 个百分点，明显提升。",
		"2018 年，男性占比 " + f2(share(x.bvalid, "gender", "male")) + "%",
	}
	want = append(want, govServices(func(field string, choices ...string) string { return f2(share(x.valid, field, choices...)) })...)
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Errorf("report lacks %q", w)
		}
	}
	// The data at this size give the seed's 67.00 / 33.00 and 22.46.
	for _, w := range []string{"男性占比 67.00%", "女性占比 33.00%", "12-18岁占比 22.46%"} {
		if !strings.Contains(page, w) {
			t.Errorf("report lacks the seed's %q", w)
		}
	}
	figures := map[string]bool{}
	for _, m := range regexp.MustCompile(`<figcaption>(图 \d+-\d+) `).FindAllStringSubmatch(page, -1) {
		figures[m[1]] = true
	}
	if len(figures) < 20 {
		t.Errorf("%d numbered figures, want at least 20", len(figures))
	}
	if len(r.Figures()) < 20 {
		t.Errorf("%d figures in the report", len(r.Figures()))
	}
	// Self-contained: nothing to fetch (the inlined library's own strings
	// aside).
	markup := regexp.MustCompile(`(?s)<script>.*?</script>`).ReplaceAllString(page, "")
	for _, bad := range []string{"<link", " src=", "@import", "url(", "http:", "https:"} {
		if strings.Contains(markup, bad) {
			t.Errorf("the page holds %q: it must make no request", bad)
		}
	}
	if !strings.Contains(page, `<html lang="zh">`) || !strings.Contains(page, "echarts") {
		t.Error("the page is not the Chinese report with ECharts inlined")
	}
}

var decimal = regexp.MustCompile(`\d+\.\d{2}\b`)

// TestNarrativeMatchesTables: every percentage or point change a sentence
// states is a cell of its figure's table, formatted the same.
func TestNarrativeMatchesTables(t *testing.T) {
	x := seedFixture(t)
	for _, tc := range []struct {
		f, bf *form.Form
		lang  string
	}{{x.f, x.bf, "zh"}, {x.f, x.bf, "en"}, {x.pf, x.pbf, "zh"}} {
		r, _ := build(t, report.Inputs{Store: x.st, Form: tc.f, BaseForm: tc.bf, Lang: tc.lang})
		checked := 0
		for _, fig := range r.Figures() {
			cells := map[string]bool{}
			for _, row := range fig.Table.Rows {
				for _, c := range row {
					cells[strings.TrimPrefix(c.Text, "-")] = true
					for _, part := range strings.Split(c.Text, "–") { // CI "a–b"
						cells[part] = true
					}
				}
			}
			for _, s := range fig.Narrative {
				for _, num := range decimal.FindAllString(s, -1) {
					checked++
					if !cells[num] {
						t.Errorf("%s %s: %q states %s, which is no cell of its table", tc.f.ID, fig.Number, s, num)
					}
				}
				if i := strings.Index(s, "p = "); i >= 0 {
					p := strings.TrimRight(strings.Fields(s[i+4:])[0], "）).。")
					if !strings.Contains(strings.Join(fig.Table.Notes, " "), "p = "+p) {
						t.Errorf("%s %s: p = %s is not in the table's notes %q", tc.f.ID, fig.Number, p, fig.Table.Notes)
					}
				}
			}
		}
		if checked < 50 {
			t.Errorf("%s (%s): only %d numbers checked", tc.f.ID, tc.lang, checked)
		}
		// The methods chapter's counts are in Table 1-1.
		methods := r.Chapters[0]
		cells := map[string]bool{}
		for _, row := range methods.Figures[0].Table.Rows {
			for _, c := range row {
				cells[c.Text] = true
			}
		}
		counts := regexp.MustCompile(`\d{1,3}(,\d{3})+|\d+ (份|valid|collected)`)
		for _, s := range methods.Intro {
			for _, m := range counts.FindAllString(s, -1) {
				n := strings.Fields(m)[0]
				if !cells[n] {
					t.Errorf("%s methods: %q states %s, not in Table 1-1", tc.f.ID, s, n)
				}
			}
		}
	}
}

// TestTablesXLSX: the workbook has one sheet per figure, each with its
// caption, its rows and its base.
func TestTablesXLSX(t *testing.T) {
	x := seedFixture(t)
	r, _ := build(t, report.Inputs{Store: x.st, Form: x.f, BaseForm: x.bf})
	var buf bytes.Buffer
	if err := r.XLSX(&buf); err != nil {
		t.Fatal(err)
	}
	wb, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer wb.Close()
	sheets := wb.GetSheetList()
	figs := r.Figures()
	if len(sheets) != len(figs) {
		t.Fatalf("%d sheets for %d figures", len(sheets), len(figs))
	}
	for i, fig := range figs {
		name := sheets[i]
		if len([]rune(name)) > 31 || name != strings.ReplaceAll(fig.Number, " ", "") {
			t.Errorf("sheet %d is %q for %s", i, name, fig.Number)
		}
		rows, err := wb.GetRows(name)
		if err != nil {
			t.Fatal(err)
		}
		if rows[0][0] != fig.Caption() {
			t.Errorf("%s: A1 %q, want the caption %q", name, rows[0][0], fig.Caption())
		}
		text := ""
		for _, row := range rows {
			text += strings.Join(row, "|") + "\n"
		}
		if !strings.Contains(text, "基数") && !strings.Contains(text, "收回问卷") {
			t.Errorf("%s has no base:\n%s", name, text)
		}
		// Every table cell is in the sheet as the report shows it.
		for _, row := range fig.Table.Rows {
			for _, c := range row {
				if c.Text != "" && c.Text != "–" && !strings.Contains(text, c.Text) {
					t.Errorf("%s: cell %q not in the sheet", name, c.Text)
				}
			}
		}
	}
}

// TestChangeWords: "明显" is said of a change only when the comparison's
// test finds it significant.
func TestChangeWords(t *testing.T) {
	x := seedFixture(t)
	def, err := report.DefinitionFor(x.f)
	if err != nil {
		t.Fatal(err)
	}
	// 2018's overall safety has 2019's distribution (sample/seed2018.go):
	// no significant change; safety_change moved by 16 points.
	def.Chapters = []report.ChapterSpec{{Title: report.Text{"zh": "波次"}, Figures: []report.FigureSpec{
		{Question: "overall_safety", Kind: report.KindGrouped},
		{Question: "safety_change", Kind: report.KindGrouped},
	}}}
	r, _ := build(t, report.Inputs{Store: x.st, Form: x.f, BaseForm: x.bf, Definition: def})
	figs := r.Chapters[1].Figures
	flat := strings.Join(figs[0].Narrative, "")
	if strings.Contains(flat, "明显") || !strings.Contains(flat, "变化不显著") {
		t.Errorf("no significant change, but: %s", flat)
	}
	if s := strings.Join(figs[1].Narrative, ""); !strings.Contains(s, "明显提升") || !strings.Contains(s, "明显下降") {
		t.Errorf("significant changes, but: %s", s)
	}
	for _, c := range r.Comparison.Questions {
		if c.Name != "overall_safety" {
			continue
		}
		for _, ch := range c.Choices {
			if float64(ch.PValue) < 0.05 {
				t.Errorf("overall_safety %s: p = %v; the test above assumes no significant change", ch.Name, ch.PValue)
			}
		}
	}
}

// TestPractitioners: figures by job role state the groups' highest and
// lowest shares and the Rao–Scott test.
func TestPractitioners(t *testing.T) {
	x := seedFixture(t)
	r, page := build(t, report.Inputs{Store: x.st, Form: x.pf, BaseForm: x.pbf})
	var roles []string
	for _, fig := range r.Figures() {
		if fig.Kind == report.KindStacked {
			roles = append(roles, fig.Number)
			s := strings.Join(fig.Narrative, "")
			q := x.pf.Question(fig.Question)
			if !strings.Contains(s, "按从业岗位分，") || strings.Contains(s, "您的") || (q.Type == "select_one") != strings.Contains(s, "Rao–Scott 检验 p") {
				t.Errorf("%s: %s", fig.Number, s)
			}
			if len(fig.Table.Rows) != 8 {
				t.Errorf("%s: %d rows, want the 8 job roles", fig.Number, len(fig.Table.Rows))
			}
		}
	}
	if len(roles) != 4 {
		t.Errorf("%d figures by job role, want 4", len(roles))
	}
	// The seed's table 2-1 shape: a numbered table of service scope.
	if !strings.Contains(page, "表 2-1 参与调查的网络从业人员所在单位网络服务范围分布") {
		t.Error("no 表 2-1")
	}
	// Job roles: the data's shares (the seed's counts, scaled).
	want := []string{"网络服务提供者（网络安全相关工作）占比 " + f2(share(x.pvalid, "job_role", "nsp_security")) + "%"}
	want = append(want, byRole(func(group, field string, choices ...string) string {
		return f2(shareWithin(x.pvalid, "job_role", group, field, choices...))
	})...)
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Errorf("report lacks %q", w)
		}
	}
	if got, want := roleCell(t, r, "从业人员加强的网络安全立法的意见", "国有企事业单位", "公民个人信息保护"),
		f2(shareWithin(x.pvalid, "job_role", "soe", "legislation_priorities", "pi_protection")); got != want {
		t.Errorf("图 4-14's state-owned enterprises, personal-information protection: %s, want %s", got, want)
	}
}

// TestEnglish: lang en writes the same numbers in English.
func TestEnglish(t *testing.T) {
	x := seedFixture(t)
	_, page := build(t, report.Inputs{Store: x.st, Form: x.f, BaseForm: x.bf, Lang: "en"})
	for _, w := range []string{`<html lang="en">`, "Figure 2-1 ", "Among the netizens surveyed: men " + f2(share(x.valid, "gender", "male")) + "%",
		"Method and data", "a significant rise"} {
		if !strings.Contains(page, w) {
			t.Errorf("English report lacks %q", w)
		}
	}
	if strings.Contains(page, "占比") {
		t.Error("English report holds Chinese sentences")
	}
}

// TestWeighted: with margins the methods state the targets and Kish's
// design effect, the sample chapter stays unweighted and attitudes are
// weighted.
func TestWeighted(t *testing.T) {
	x := seedFixture(t)
	in, err := os.Open(filepath.Join("testdata", "netizen_margins.csv"))
	if err != nil {
		t.Fatal(err)
	}
	margins, err := stats.ReadMargins(in)
	in.Close()
	if err != nil {
		t.Fatal(err)
	}
	r, page := build(t, report.Inputs{Store: x.st, Form: x.f, BaseForm: x.bf,
		Weighting: &stats.Weighting{Method: stats.WeightRake, Margins: margins, Source: "netizen_margins.csv"}})
	wi := r.Analysis.Weights
	if wi == nil {
		t.Fatal("not weighted")
	}
	if w := fmt.Sprintf("Kish 设计效应 %.3f", wi.KishDeff); !strings.Contains(page, w) || wi.KishDeff <= 1 {
		t.Errorf("report lacks %q", w)
	}
	if !strings.Contains(page, "表 1-2 加权目标与样本分布") || !strings.Contains(page, "51.00") {
		t.Error("no weighting targets table")
	}
	// Gender in the sample chapter is the sample's; overall safety is weighted.
	if !strings.Contains(page, "男性占比 "+f2(share(x.valid, "gender", "male"))+"%") {
		t.Error("sample chapter is not unweighted")
	}
	for _, fig := range r.Figures() {
		if fig.Question == "overall_safety" && !strings.Contains(fig.Table.Header[2], "加权") {
			t.Errorf("overall safety not weighted: %v", fig.Table.Header)
		}
	}
}

// TestSuppression: percentages on a base below the definition's minimum
// are not shown, and the text says why.
func TestSuppression(t *testing.T) {
	x := seedFixture(t)
	def, err := report.DefinitionFor(x.f)
	if err != nil {
		t.Fatal(err)
	}
	def.MinBase = 1_000_000
	r, page := build(t, report.Inputs{Store: x.st, Form: x.f, Definition: def})
	if !strings.Contains(page, "基数少于 1000000 的比例不予报告") {
		t.Error("methods do not state the suppression rule")
	}
	for _, fig := range r.Figures()[2:] { // past the methods' tables
		for _, s := range fig.Narrative {
			if decimal.MatchString(s) {
				t.Errorf("%s states a suppressed number: %s", fig.Number, s)
			}
		}
	}
}

// TestDefaultDefinition: every choice question in order, with a kind
// that fits; a definition survives a round trip through its file.
func TestDefaultDefinition(t *testing.T) {
	for _, id := range []string{"netizen_2019", "practitioner_2019"} {
		f, err := sample.SeedForm(id)
		if err != nil {
			t.Fatal(err)
		}
		d := report.DefaultDefinition(f)
		var got []string
		kinds := map[string]string{}
		for _, ch := range d.Chapters {
			for _, fs := range ch.Figures {
				got = append(got, fs.Question)
				kinds[fs.Question] = fs.Kind
			}
		}
		var want []string
		for _, q := range f.Fields() {
			if q.Type == "select_one" || q.Type == "select_multiple" {
				want = append(want, q.Name)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: figures %v, want %v", id, got, want)
		}
		for q, k := range map[string]string{"gender": report.KindPie, "age_band": report.KindDonut, "net_age": report.KindBar, "province": report.KindRanked,
			"gov_risks": report.KindHBar, "overall_safety": report.KindDonut, "job_role": report.KindBar} {
			if kk, ok := kinds[q]; ok && kk != k {
				t.Errorf("%s: %s is %s, want %s", id, q, kk, k)
			}
		}
		if err := d.Check(f); err != nil {
			t.Error(err)
		}
		for _, def := range []*report.Definition{d, mustDefinitionFor(t, f)} {
			var buf bytes.Buffer
			if _, err := def.WriteTo(&buf); err != nil {
				t.Fatal(err)
			}
			back, err := report.ReadDefinition(&buf)
			if err != nil {
				t.Fatal(err)
			}
			var again bytes.Buffer
			back.WriteTo(&again)
			var first bytes.Buffer
			def.WriteTo(&first)
			if first.String() != again.String() {
				t.Errorf("%s: definition changed in a round trip", id)
			}
		}
	}
}

func mustDefinitionFor(t *testing.T, f *form.Form) *report.Definition {
	t.Helper()
	d, err := report.DefinitionFor(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Check(f); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestReadDefinitionErrors(t *testing.T) {
	tests := []struct{ name, json, want string }{
		{"unknown key", `{"form_id":"x","chapterz":[]}`, "chapterz"},
		{"no form", `{"chapters":[]}`, "no form_id"},
		{"bad kind", `{"form_id":"x","chapters":[{"title":"t","figures":[{"question":"q","kind":"radar"}]}]}`, "radar"},
		{"stacked without by", `{"form_id":"x","chapters":[{"title":"t","figures":[{"question":"q","kind":"stacked"}]}]}`, "needs by"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := report.ReadDefinition(strings.NewReader(tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one naming %q", err, tt.want)
			}
		})
	}
	f, _ := sample.SeedForm("netizen_2019")
	d := &report.Definition{FormID: f.ID, Chapters: []report.ChapterSpec{{Figures: []report.FigureSpec{
		{Question: "nope", Kind: "bar"}, {Question: "gender", Kind: "stacked", By: "gov_risks"}}}}}
	if err := d.Check(f); err == nil || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), `"gov_risks"`) {
		t.Errorf("Check: %v", err)
	}
}

// TestSeedReportFullSize is the acceptance check at the seed's own size
// (189,495 netizens collected, 172,075 valid): the report states the
// seed's published figures exactly. About a minute; skipped with -short.
func TestSeedReportFullSize(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size seed survey: run without -short")
	}
	ctx := t.Context()
	st := openStore(t)
	f, _ := seedWave(t, ctx, st, "netizen_2019", 1)
	bf, _ := seedWave(t, ctx, st, "netizen_2018", 1)
	_, page := build(t, report.Inputs{Store: st, Form: f, BaseForm: bf})
	for _, w := range []string{
		"共收回问卷 189,495 份", "共有 172,075 份问卷纳入统计",
		"参与调查的公众网民中，男性占比 67.00%，女性占比 33.00%。",
		"12-18岁占比 22.46%", "非常安全占比 11.38%", "安全占比 39.87%",
		"的比例为 48.76%（2018 年为 32.47%），较去年增加了 16.29 个百分点，明显提升。",
		"下降占比较去年减少了 2.82 个百分点，明显下降",
		"2018 年，男性占比 77.00%，女性占比 23.00%",
	} {
		if !strings.Contains(page, w) {
			t.Errorf("full-size report lacks %q", w)
		}
	}
	// Chapter 四 (government online services): the seed's figures where
	// its text gives them (sample/seed.go marks the rest illustrative).
	seed := map[string]string{
		"used_gov_online/yes": "85.40", "used_gov_online/no": "14.60",
		"gov_services_used/bank": "59.58", "gov_services_used/transport": "50.30", "gov_services_used/education": "48.82",
		"gov_services_used/social_security": "46.89", "gov_services_used/medical": "44.89",
		"gov_services_need/education":    "51.35",
		"convenient/convenient":          "66.00",
		"convenience_improve/timeliness": "72.43",
		"gov_security/very_safe+safe":    "72.16",
		"gov_risks/pii_leak":             "65.76",
		"leak_domains/medical":           "51.70", "leak_domains/education": "50.50", "leak_domains/employment": "45.33",
		"leak_domains/transport": "44.31", "leak_domains/housing": "44.18",
		"legislation_view/standards_fill_gap": "17.20", "legislation_view/dedicated_law": "31.26",
		"legislation_view/mandatory_standards": "30.81", "legislation_view/convert_standards": "20.73",
		"gov_security_services/risk_alert": "42.60", "gov_security_services/free_tools": "38.10",
		"gov_security_services/complaint_report": "37.53",
		"gov_should/laws_crackdown":              "77.96",
	}
	for _, w := range govServices(func(field string, choices ...string) string {
		p, ok := seed[field+"/"+strings.Join(choices, "+")]
		if !ok {
			t.Fatalf("no seed figure for %s %v", field, choices)
		}
		return p
	}) {
		if !strings.Contains(page, w) {
			t.Errorf("full-size report lacks %q", w)
		}
	}

	// The practitioners by job role (图 3-3, 4-13, 4-14). Two of the
	// seed's numbers are no share of a whole number of people: 75% of
	// the 1,027 regulators is 74.98% (770) or 75.07% (771), and 76.82%
	// of the 6,378 other organisations 76.81% or 76.83% (4,900, the
	// nearest).
	pf, _ := seedWave(t, ctx, st, "practitioner_2019", 1)
	pbf, _ := seedWave(t, ctx, st, "practitioner_2018", 1)
	pr, ppage := build(t, report.Inputs{Store: st, Form: pf, BaseForm: pbf})
	role := map[string]string{
		"research_univ/security_status/good":                     "26.04",
		"gov_regulator/supervision_gaps/talent_shortage":         "74.98",
		"other_org/legislation_priorities/pi_protection":         "76.83",
		"nsp_security/legislation_priorities/platform_liability": "61.11",
	}
	for _, w := range byRole(func(group, field string, choices ...string) string {
		return role[group+"/"+field+"/"+strings.Join(choices, "+")]
	}) {
		if !strings.Contains(ppage, w) {
			t.Errorf("full-size practitioner report lacks %q", w)
		}
	}
	if got := roleCell(t, pr, "从业人员加强的网络安全立法的意见", "国有企事业单位", "公民个人信息保护"); got != "76.67" {
		t.Errorf("图 4-14's state-owned enterprises, personal-information protection: %s, want the seed's 76.67", got)
	}
}

// TestFormsSideBySide: the netizen report's 图 2-1 sets the practitioners'
// gender beside the netizens' (the seed's 图 2-1), each share computed
// from its own form's valid responses; a store without the practitioners
// gives the netizens alone and says so.
func TestFormsSideBySide(t *testing.T) {
	x := seedFixture(t)
	r, page := build(t, report.Inputs{Store: x.st, Form: x.f, BaseForm: x.bf})
	fig := r.Chapters[1].Figures[0]
	if fig.Caption() != "图 2-1 参与调查的公众及从业人员的性别比例" || !fig.Chart() {
		t.Fatalf("first figure %q (chart %v)", fig.Caption(), fig.Chart())
	}
	if want := []string{"选项", "参与调查的公众网民（%）", "参与调查的网络从业人员（%）"}; !slices.Equal(fig.Table.Header, want) {
		t.Errorf("header %q, want %q", fig.Table.Header, want)
	}
	for _, w := range []string{
		"参与调查的公众网民中，男性占比 " + f2(share(x.valid, "gender", "male")) + "%，女性占比 " + f2(share(x.valid, "gender", "female")) + "%。",
		"参与调查的网络从业人员中，男性占比 " + f2(share(x.pvalid, "gender", "male")) + "%，女性占比 " + f2(share(x.pvalid, "gender", "female")) + "%。",
	} {
		if !slices.Contains(fig.Narrative, w) {
			t.Errorf("图 2-1 does not say %q: %q", w, fig.Narrative)
		}
	}
	base := fig.Table.Rows[len(fig.Table.Rows)-1]
	if base[1].Text != thousands(len(x.valid)) || base[2].Text != thousands(len(x.pvalid)) {
		t.Errorf("bases %q and %q, want %d and %d", base[1].Text, base[2].Text, len(x.valid), len(x.pvalid))
	}
	if !strings.Contains(string(fig.Option()), `"name":"参与调查的网络从业人员"`) || !strings.Contains(page, "参与调查的公众及从业人员的性别比例") {
		t.Error("the chart has no practitioners' series")
	}

	// Only the netizens in the store.
	st := openStore(t)
	f, valid := seedWave(t, t.Context(), st, "netizen_2019", 200)
	r, _ = build(t, report.Inputs{Store: st, Form: f})
	fig = r.Chapters[1].Figures[0]
	if len(fig.Table.Header) != 2 || !slices.Contains(fig.Table.Notes, "未列入：practitioner_2019（未登记）。") {
		t.Errorf("without practitioners: header %q, notes %q", fig.Table.Header, fig.Table.Notes)
	}
	if want := "参与调查的公众网民中，男性占比 " + f2(share(valid, "gender", "male")) + "%"; !strings.Contains(strings.Join(fig.Narrative, ""), want) {
		t.Errorf("without practitioners: %q lacks %q", fig.Narrative, want)
	}

	// Forms need kind grouped, and not the form itself.
	for _, fs := range []report.FigureSpec{
		{Question: "gender", Kind: report.KindBar, Forms: []string{"practitioner_2019"}},
		{Question: "gender", Kind: report.KindGrouped, Forms: []string{"netizen_2019"}},
		{Question: "gender", Kind: report.KindGrouped, Forms: []string{"practitioner_2019", "practitioner_2019"}},
	} {
		d := &report.Definition{FormID: x.f.ID, Chapters: []report.ChapterSpec{{Figures: []report.FigureSpec{fs}}}}
		if err := d.Check(x.f); err == nil || !strings.Contains(err.Error(), "form") {
			t.Errorf("Check of %+v: %v", fs, err)
		}
	}
}
