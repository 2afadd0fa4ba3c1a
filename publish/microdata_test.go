package publish

import (
	"slices"
	"testing"

	"github.com/govsurvey/govsurvey/form"
)

// kRows is the crafted data set: (age, province) combinations with their
// counts, 20 respondents; the third column is an ordinary answer.
func kRows() [][]string {
	cells := []struct {
		age, prov string
		n         int
	}{
		{"a1", "beijing", 3}, {"a2", "beijing", 1}, {"a1", "tianjin", 2}, {"a2", "tianjin", 2},
		{"a3", "shanghai", 4}, {"a4", "shanghai", 3}, {"a3", "jiangsu", 2}, {"a4", "jiangsu", 1},
		{"a4", "beijing", 1}, {"a1", "shanghai", 1},
	}
	var rows [][]string
	for _, c := range cells {
		for range c.n {
			rows = append(rows, []string{c.age, c.prov, "yes"})
		}
	}
	return rows
}

func kHierarchies() []Hierarchy {
	var age, prov []form.Choice
	for _, n := range []string{"a1", "a2", "a3", "a4"} {
		age = append(age, form.Choice{Name: n})
	}
	for _, n := range []string{"beijing", "tianjin", "shanghai", "jiangsu"} {
		prov = append(prov, form.Choice{Name: n})
	}
	return []Hierarchy{HierarchyFor("age", age), HierarchyFor("prov", prov)}
}

func TestKAnonymize(t *testing.T) {
	header := []string{"age", "prov", "answer"}
	tests := []struct {
		name    string
		maxDrop float64
		want    KReport
		classes map[[2]string]int
	}{
		{
			// k = 3. As collected, 10 of 20 rows are in groups under 3.
			// Age in pairs leaves (a3–a4, beijing) 1 and (a1–a2,
			// shanghai) 1: 2 rows; provinces in regions leave (a4,
			// north) 1 and (a1, east) 1: also 2, and age is named
			// first. 2 ≤ 10% of 20, so they are dropped.
			name: "coarsen age, drop two", maxDrop: 0.1,
			want: KReport{K: 3, Rows: 20, Kept: 18, Dropped: 2, DroppedGroups: 2, Classes: 4, SmallestClass: 3,
				Coarsened: []Coarsening{{Field: "age", Level: 1, Levels: 2, Description: "neighbouring choices merged in 2s"},
					{Field: "prov", Level: 0, Levels: 2, Description: "as collected"}}},
			classes: map[[2]string]int{{"a1–a2", "beijing"}: 4, {"a1–a2", "tianjin"}: 4, {"a3–a4", "shanghai"}: 7, {"a3–a4", "jiangsu"}: 3},
		},
		{
			// Dropping nothing (max drop 0, i.e. under one row): from
			// age in pairs, age "*" leaves no small group (beijing 5,
			// tianjin 4, shanghai 8, jiangsu 3), regions would leave 2.
			name: "coarsen age fully, drop none", maxDrop: 0.01,
			want: KReport{K: 3, Rows: 20, Kept: 20, Classes: 4, SmallestClass: 3,
				Coarsened: []Coarsening{{Field: "age", Level: 2, Levels: 2, Description: "suppressed (*)"},
					{Field: "prov", Level: 0, Levels: 2, Description: "as collected"}}},
			classes: map[[2]string]int{{"*", "beijing"}: 5, {"*", "tianjin"}: 4, {"*", "shanghai"}: 8, {"*", "jiangsu"}: 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, rep, err := KAnonymize(header, kRows(), kHierarchies(), KOptions{K: 3, MaxDrop: tt.maxDrop})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Rows != tt.want.Rows || rep.Kept != tt.want.Kept || rep.Dropped != tt.want.Dropped ||
				rep.DroppedGroups != tt.want.DroppedGroups || rep.Classes != tt.want.Classes || rep.SmallestClass != tt.want.SmallestClass {
				t.Errorf("report %+v, want %+v", rep, tt.want)
			}
			if !slices.Equal(rep.Coarsened, tt.want.Coarsened) {
				t.Errorf("coarsened %+v, want %+v", rep.Coarsened, tt.want.Coarsened)
			}
			got := map[[2]string]int{}
			for _, r := range out {
				got[[2]string{r[0], r[1]}]++
				if r[2] != "yes" {
					t.Errorf("other column changed: %v", r)
				}
			}
			if len(got) != len(tt.classes) {
				t.Errorf("classes %v, want %v", got, tt.classes)
			}
			for k, n := range tt.classes {
				if got[k] != n {
					t.Errorf("class %v: %d rows, want %d", k, got[k], n)
				}
			}
			if !slices.IsSortedFunc(out, func(a, b []string) int { return slices.Compare(a, b) }) {
				t.Error("rows keep their collection order")
			}
		})
	}
}

func TestHierarchyForProvinces(t *testing.T) {
	h := HierarchyFor("province", []form.Choice{{Name: "beijing"}, {Name: "guangdong"}, {Name: "xinjiang"}})
	if len(h.Levels) != 2 || h.at(1, "guangdong") != "south" || h.at(1, "xinjiang") != "northwest" || h.at(2, "beijing") != "*" {
		t.Errorf("hierarchy %+v", h)
	}
	if h.at(1, "") != "*" {
		t.Error("an unanswered quasi-identifier is not generalised")
	}
}
