package publish

import (
	"testing"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/stats"
)

// linkedAnalysis: q's overall counts and q by g, every respondent in a
// group, so the cross-tab's row totals are the frequency table's counts.
func linkedAnalysis(typ string, cells [][]int, bases []int) *stats.Analysis {
	names := []string{"yes", "no", "dk"}
	an := &stats.Analysis{FormID: "f"}
	all := make([]int, len(names))
	ct := stats.Crosstab{By: "g"}
	for j, gname := range []string{"a", "b"} {
		q := stats.QuestionTable{Name: "q", Type: typ, Base: bases[j]}
		for i, n := range names {
			q.Choices = append(q.Choices, stats.ChoiceEstimate{Name: n, Count: stats.Num(cells[i][j]), Percent: 1})
			all[i] += cells[i][j]
		}
		ct.Groups = append(ct.Groups, stats.CrosstabGroup{Name: gname, Base: bases[j], Questions: []stats.QuestionTable{q}})
	}
	q := stats.QuestionTable{Name: "q", Type: typ, Base: bases[0] + bases[1]}
	for i, n := range names {
		q.Choices = append(q.Choices, stats.ChoiceEstimate{Name: n, Count: stats.Num(all[i]), Percent: 1})
	}
	an.Questions = []stats.QuestionTable{q}
	an.Crosstabs = []stats.Crosstab{ct}
	return an
}

func TestTablesLinkMargins(t *testing.T) {
	f := &form.Form{ID: "f"}
	// Overall: yes 200, no 5, dk 30. "no" is small; in a one-column
	// table its only protection is the next smallest, dk. The cross-tab's
	// row totals must not give dk (and so no) back.
	an := linkedAnalysis("select_one", [][]int{{100, 100}, {2, 3}, {15, 15}}, []int{117, 118})
	tables, err := Tables(an, f, nil, DefaultRule())
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 2 {
		t.Fatalf("%d tables", len(tables))
	}
	freq, ct := tables[0], tables[1]
	wantFreq := []bool{false, true, true}
	for i, want := range wantFreq {
		if freq.Mask.Cells[i][0] != want {
			t.Errorf("frequency %s suppressed %v, want %v", freq.Rows[i].Name, freq.Mask.Cells[i][0], want)
		}
		if ct.Mask.RowTotals[i] != want {
			t.Errorf("cross-tab row total %s suppressed %v, want as the frequency table: %v", ct.Rows[i].Name, ct.Mask.RowTotals[i], want)
		}
	}
	checkSafe(t, ct.grid(), ct.Mask, 10)
}

func TestTablesMultipleChoiceSmallGroup(t *testing.T) {
	f := &form.Form{ID: "f"}
	// Group b has 8 respondents: its whole column goes, whatever its
	// counts; the others are protected from the row totals.
	an := linkedAnalysis("select_multiple", [][]int{{90, 6}, {40, 2}, {30, 0}}, []int{120, 8})
	tables, err := Tables(an, f, nil, DefaultRule())
	if err != nil {
		t.Fatal(err)
	}
	ct := tables[1]
	for i := range ct.Rows {
		if !ct.Mask.Cells[i][1] && ct.Counts[i][1] != 0 {
			t.Errorf("%s in the small group published", ct.Rows[i].Name)
		}
	}
	if c := ct.Base(1); !c.Suppressed {
		t.Error("the small group's base is published")
	}
	checkSafe(t, ct.grid(), ct.Mask, 10)
}

// TestTablesWeighted: suppression is of unweighted counts; a weighted
// count is never what decides (or what is published).
func TestTablesWeighted(t *testing.T) {
	u := func(n int) *int { return &n }
	an := &stats.Analysis{FormID: "f", Weights: &stats.WeightsInfo{}, Questions: []stats.QuestionTable{{
		Name: "q", Type: "select_one", Base: 57, Choices: []stats.ChoiceEstimate{
			{Name: "yes", Count: 40.5, UnweightedCount: u(50), Percent: 70},
			{Name: "no", Count: 16.2, UnweightedCount: u(7), Percent: 30},
		}}}}
	tables, err := Tables(an, &form.Form{}, nil, DefaultRule())
	if err != nil {
		t.Fatal(err)
	}
	tb := tables[0]
	if tb.Counts[0][0] != 50 || tb.Counts[1][0] != 7 {
		t.Errorf("counts %v, want the unweighted 50 and 7", tb.Counts)
	}
	// 7 is small; with two rows and a published base, 50 goes too.
	if !tb.Mask.Cells[1][0] || !tb.Mask.Cells[0][0] {
		t.Errorf("mask %v", tb.Mask.Cells)
	}
	if c := tb.Cell(1, 0); c.Count != nil || c.Percent != nil {
		t.Errorf("suppressed cell shows %+v", c)
	}
}
