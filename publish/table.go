package publish

import (
	"fmt"
	"math"
	"strings"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/stats"
)

// Text is a title or label in the release's two languages.
type Text struct {
	ZH string `json:"zh"`
	EN string `json:"en"`
}

func textOf(t form.Text, fallback string) Text {
	out := Text{ZH: t.In("zh"), EN: t.In("en")}
	if out.ZH == "" {
		out.ZH = fallback
	}
	if out.EN == "" {
		out.EN = out.ZH
	}
	return out
}

// Level is one row (a choice) or column (a group) of a table.
type Level struct {
	Name  string `json:"name"`
	Label Text   `json:"label"`
}

// Table is one published table: unweighted counts of a question's choices
// (rows) overall or in the groups of a cross-tab field (columns), the
// analysis' percentages, and the suppression applied to them.
type Table struct {
	Name     string  `json:"name"` // file name stem: "gender", "gender_by_job_role"
	Question string  `json:"question"`
	Type     string  `json:"type"` // select_one or select_multiple
	By       string  `json:"by,omitempty"`
	Title    Text    `json:"title"`
	Rows     []Level `json:"rows"`
	Cols     []Level `json:"columns"`
	// Counts are unweighted; Percent is the analysis' (weighted when it
	// was), NaN when undefined. Bases are the question's base in each
	// column.
	Counts  [][]int     `json:"-"`
	Percent [][]float64 `json:"-"`
	Bases   []int       `json:"-"`
	// RowTotals: each row's count over all columns is published (cross-
	// tabs). For select_one the column totals are the bases.
	RowTotals bool   `json:"-"`
	Mask      Mask   `json:"-"`
	min       int    // the rule's threshold
	hideBase  []bool // bases another table suppresses (select_multiple)
}

// grid is the table as suppression sees it.
func (t *Table) grid() Grid {
	g := Grid{Counts: t.Counts, RowTotals: t.RowTotals, ColTotals: t.Type == "select_one"}
	if t.Type != "select_one" {
		// A select_multiple base is no sum of the cells but bounds
		// them: a small group's column goes whole.
		g.Force = make([][]bool, len(t.Counts))
		for i := range t.Counts {
			g.Force[i] = make([]bool, len(t.Bases))
			for j, b := range t.Bases {
				g.Force[i][j] = b > 0 && b < t.min
			}
		}
	}
	return g
}

// Tables builds and suppresses the tables of an analysis for the named
// questions (all single- and multiple-choice questions when none are
// named): one frequency table per question, and one per question and
// cross-tab field. Numeric summaries and nets are not published: a net is
// a sum of cells and would give suppressed cells away.
func Tables(an *stats.Analysis, f *form.Form, questions []string, rule Rule) ([]*Table, error) {
	want := map[string]bool{}
	for _, q := range questions {
		want[q] = true
	}
	pick := func(q stats.QuestionTable) bool {
		if q.Type != "select_one" && q.Type != "select_multiple" {
			return false
		}
		return len(want) == 0 || want[q.Name]
	}
	var out []*Table
	// What the frequency tables suppress, by question and choice: a
	// cross-tab's row totals are those counts (when every respondent
	// answered the cross-tab field), so they are published or suppressed
	// as there. Likewise the groups' bases across the cross-tabs by one
	// field, and that field's own frequency table.
	freqSup := map[string]map[string]bool{}
	groupSup := map[string]map[string]bool{}
	suppress := func(t *Table, g Grid) error {
		t.min = rule.MinCount
		m, err := Suppress(g, rule)
		if err != nil {
			return fmt.Errorf("publish: table %s: %w", t.Name, err)
		}
		t.Mask = m
		return nil
	}
	for _, q := range an.Questions {
		if !pick(q) {
			continue
		}
		t := newTable(f, q, q.Name)
		t.Cols = []Level{{Name: "all", Label: Text{ZH: "全部", EN: "All"}}}
		t.Counts = make([][]int, len(q.Choices))
		t.Percent = make([][]float64, len(q.Choices))
		for i, c := range q.Choices {
			t.Counts[i] = []int{unweighted(c)}
			t.Percent[i] = []float64{float64(c.Percent)}
		}
		t.Bases = []int{q.Base}
		t.min = rule.MinCount
		if err := suppress(t, t.grid()); err != nil {
			return nil, err
		}
		freqSup[q.Name] = map[string]bool{}
		for i, r := range t.Rows {
			freqSup[q.Name][r.Name] = t.Mask.Cells[i][0]
		}
		out = append(out, t)
	}
	for _, ct := range an.Crosstabs {
		if len(ct.Groups) == 0 {
			continue
		}
		byLabel := Text{ZH: ct.Label, EN: ct.Label}
		if bq := f.Question(ct.By); bq != nil {
			byLabel = textOf(bq.Label, ct.By)
		}
		if groupSup[ct.By] == nil {
			groupSup[ct.By] = map[string]bool{}
			for g, sup := range freqSup[ct.By] {
				groupSup[ct.By][g] = sup
			}
		}
		groups := groupSup[ct.By]
		for k, q0 := range ct.Groups[0].Questions {
			if !pick(q0) {
				continue
			}
			t := newTable(f, q0, q0.Name+"_by_"+safeName(ct.By))
			t.By = ct.By
			t.Title.ZH += " × " + byLabel.ZH
			t.Title.EN += " by " + byLabel.EN
			t.RowTotals = true
			t.Counts = make([][]int, len(q0.Choices))
			t.Percent = make([][]float64, len(q0.Choices))
			for i := range q0.Choices {
				t.Counts[i] = make([]int, len(ct.Groups))
				t.Percent[i] = make([]float64, len(ct.Groups))
			}
			for j, g := range ct.Groups {
				t.Cols = append(t.Cols, groupLevel(f, ct.By, g))
				q := g.Questions[k]
				if q.Name != q0.Name || len(q.Choices) != len(q0.Choices) {
					return nil, fmt.Errorf("publish: cross-tab by %s: group %s does not match question %s", ct.By, g.Name, q0.Name)
				}
				t.Bases = append(t.Bases, q.Base)
				for i, c := range q.Choices {
					t.Counts[i][j] = unweighted(c)
					t.Percent[i][j] = float64(c.Percent)
				}
			}
			t.min = rule.MinCount
			g := t.grid()
			if fs, ok := freqSup[t.Question]; ok {
				g.FixedRow, g.ForceRow = make([]bool, len(t.Rows)), make([]bool, len(t.Rows))
				for i, r := range t.Rows {
					g.ForceRow[i] = fs[r.Name]
					g.FixedRow[i] = !fs[r.Name]
				}
			}
			g.FixedCol, g.ForceCol = make([]bool, len(t.Cols)), make([]bool, len(t.Cols))
			t.hideBase = make([]bool, len(t.Cols))
			for j, c := range t.Cols {
				if sup, ok := groups[c.Name]; ok {
					g.ForceCol[j], g.FixedCol[j] = sup, !sup
					t.hideBase[j] = sup
				}
			}
			if err := suppress(t, g); err != nil {
				return nil, err
			}
			for j, c := range t.Cols {
				if _, ok := groups[c.Name]; !ok {
					groups[c.Name] = t.Base(j).Suppressed
				}
			}
			out = append(out, t)
		}
	}
	return out, nil
}

func newTable(f *form.Form, q stats.QuestionTable, name string) *Table {
	t := &Table{Name: safeName(name), Question: q.Name, Type: q.Type, Title: Text{ZH: q.Label, EN: q.Label}}
	fq := f.Question(q.Name)
	if fq != nil {
		t.Title = textOf(fq.Label, q.Name)
	}
	for _, c := range q.Choices {
		l := Level{Name: c.Name, Label: Text{ZH: c.Label, EN: c.Label}}
		if fq != nil {
			if fc, ok := f.Choice(fq.ListName, c.Name); ok {
				l.Label = textOf(fc.Label, c.Name)
			}
		}
		t.Rows = append(t.Rows, l)
	}
	return t
}

// groupLevel labels a cross-tab group in both languages; crossed fields'
// groups ("a/b") keep the analysis' label.
func groupLevel(f *form.Form, by string, g stats.CrosstabGroup) Level {
	l := Level{Name: g.Name, Label: Text{ZH: g.Label, EN: g.Label}}
	if bq := f.Question(by); bq != nil {
		if c, ok := f.Choice(bq.ListName, g.Name); ok {
			l.Label = textOf(c.Label, g.Name)
		}
	}
	return l
}

// unweighted is a choice's unweighted count, which suppression is about.
func unweighted(c stats.ChoiceEstimate) int {
	if c.UnweightedCount != nil {
		return *c.UnweightedCount
	}
	return int(math.Round(float64(c.Count)))
}

// safeName keeps a file-name stem to letters, digits, '_' and '-'.
func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// Cell is one published cell: nil Count and Percent when suppressed.
type Cell struct {
	Count      *int     `json:"count"`
	Percent    *float64 `json:"percent"`
	Suppressed bool     `json:"suppressed,omitempty"`
}

// Cell returns cell (i, j) as published.
func (t *Table) Cell(i, j int) Cell {
	if t.Mask.Cells[i][j] {
		return Cell{Suppressed: true}
	}
	c := Cell{Count: &t.Counts[i][j]}
	if p := t.Percent[i][j]; !math.IsNaN(p) && !math.IsInf(p, 0) {
		c.Percent = &p
	}
	return c
}

// RowTotal returns row i's total over the columns as published (ok false
// when the table publishes none).
func (t *Table) RowTotal(i int) (c Cell, ok bool) {
	if !t.RowTotals {
		return Cell{}, false
	}
	if t.Mask.RowTotals[i] {
		return Cell{Suppressed: true}, true
	}
	n := 0
	for _, v := range t.Counts[i] {
		n += v
	}
	return Cell{Count: &n}, true
}

// Base returns column j's base as published.
func (t *Table) Base(j int) Cell {
	b := t.Bases[j]
	if t.Type == "select_one" {
		if t.Mask.ColTotals[j] {
			return Cell{Suppressed: true}
		}
	} else if (b > 0 && b < t.min) || (t.hideBase != nil && t.hideBase[j]) {
		return Cell{Suppressed: true}
	}
	return Cell{Count: &b}
}
