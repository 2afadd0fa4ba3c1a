package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govsurvey/govsurvey/stats"
)

// apiFrame is one of R survey's California schools samples
// (stats/testdata), column by name.
type apiFrame map[string][]string

func readAPIFrame(t *testing.T, name string) apiFrame {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "stats", "testdata", name+".csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	fr := apiFrame{}
	for _, r := range recs[1:] {
		for j, h := range recs[0] {
			fr[h] = append(fr[h], r[j])
		}
	}
	return fr
}

// codes are a column's values as ids: the index in levels, or (levels
// nil) the order of first appearance.
func (fr apiFrame) codes(t *testing.T, col string, levels []string) []int32 {
	t.Helper()
	seen := map[string]int32{}
	for j, l := range levels {
		seen[l] = int32(j)
	}
	out := make([]int32, len(fr[col]))
	for i, v := range fr[col] {
		c, ok := seen[v]
		if !ok {
			if levels != nil {
				t.Fatalf("%s: %q is no level of %v", col, v, levels)
			}
			c = int32(len(seen))
			seen[v] = c
		}
		out[i] = c
	}
	return out
}

func (fr apiFrame) numbers(t *testing.T, col string) []float64 {
	t.Helper()
	out := make([]float64, len(fr[col]))
	for i, v := range fr[col] {
		if _, err := fmt.Sscan(v, &out[i]); err != nil {
			t.Fatalf("%s row %d: %v", col, i, err)
		}
	}
	return out
}

// addAPIForm registers testdata/api_form.md as formID and imports the
// frame's rows into it (columns missing from the frame stay unanswered).
func addAPIForm(t *testing.T, dir, db, formID string, fr apiFrame, rename map[string]string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "api_form.md"))
	if err != nil {
		t.Fatal(err)
	}
	formPath := filepath.Join(dir, formID+".md")
	if err := os.WriteFile(formPath, []byte(strings.ReplaceAll(string(src), "FORM_ID", formID)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, "form", "add", "--db", db, formPath); code != 0 {
		t.Fatalf("form add: exit %d: %s", code, errs)
	}
	cols := []string{"stype", "dnum", "snum", "sch_wide", "awards", "fpc1", "fpc2"}
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(append([]string{"instance_id"}, cols...))
	for i := range fr["stype"] {
		row := []string{fmt.Sprintf("uuid:%s-%03d", formID, i)}
		for _, c := range cols {
			from := c
			if r, ok := rename[c]; ok {
				from = r
			}
			v := ""
			if fr[from] != nil {
				v = fr[from][i]
			}
			row = append(row, v)
		}
		w.Write(row)
	}
	w.Flush()
	data := filepath.Join(dir, formID+".csv")
	if err := os.WriteFile(data, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, "import", "--db", db, "--form", formID, data); code != 0 {
		t.Fatalf("import: exit %d: %s", code, errs)
	}
}

// refProportions is a proportions case of stats/testdata/reference.json
// (R survey's svymean of a factor): the SEs by level.
func refProportions(t *testing.T, name string) []float64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "stats", "testdata", "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []struct {
			Name   string `json:"name"`
			Result struct {
				SE []float64 `json:"se"`
			} `json:"result"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range doc.Cases {
		if c.Name == name {
			return c.Result.SE
		}
	}
	t.Fatalf("reference.json has no case %q", name)
	return nil
}

// TestAnalyzeDesign: analyze's --strata, --cluster, --fpc (and weighting
// on top) give the SEs of stats run directly on the same DesignSpec, built
// here from the raw CSV, and where R has the case
// (stats/testdata/reference.json) R's SEs.
func TestAnalyzeDesign(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "govsurvey.db")
	clus1, clus2 := readAPIFrame(t, "apiclus1"), readAPIFrame(t, "apiclus2")
	addAPIForm(t, dir, db, "apiclus1", clus1, map[string]string{"sch_wide": "sch.wide", "fpc1": "fpc"})
	addAPIForm(t, dir, db, "apiclus2", clus2, map[string]string{"sch_wide": "sch.wide"})
	// R's population totals of apiclus1's rake case, as a §5 margins file.
	margins := filepath.Join(dir, "margins.csv")
	if err := os.WriteFile(margins, []byte("field,choice,population\nstype,E,4421\nstype,H,755\nstype,M,1018\nsch_wide,No,1072\nsch_wide,Yes,5122\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stypes, yn := []string{"E", "H", "M"}, []string{"No", "Yes"}
	cases := []struct {
		name     string
		form     string
		fr       apiFrame
		flags    []string
		question string
		levels   []string
		spec     func() stats.DesignSpec
		rake     bool   // rake to margins.csv on top of the design
		ref      string // reference.json case, "": none fits
		design   stats.DesignInfo
	}{
		{
			name: "one-stage cluster", form: "apiclus1", fr: clus1, flags: []string{"--cluster", "dnum"},
			question: "awards", levels: yn,
			spec:   func() stats.DesignSpec { return stats.DesignSpec{Clusters: clus1.codes(t, "dnum", nil)} },
			ref:    "apiclus1 proportions awards",
			design: stats.DesignInfo{Clusters: []string{"dnum"}, LonelyPSU: "fail", NStrata: 1, NPSU: 15},
		},
		{
			name: "raked on clusters", form: "apiclus1", fr: clus1, flags: []string{"--cluster", "dnum", "--weights", margins},
			question: "awards", levels: yn, rake: true,
			spec:   func() stats.DesignSpec { return stats.DesignSpec{Clusters: clus1.codes(t, "dnum", nil)} },
			ref:    "apiclus1 rake proportions",
			design: stats.DesignInfo{Clusters: []string{"dnum"}, LonelyPSU: "fail", NStrata: 1, NPSU: 15},
		},
		{
			name: "two stages with fpc", form: "apiclus2", fr: clus2, flags: []string{"--cluster", "dnum,snum", "--fpc", "fpc1,fpc2"},
			question: "stype", levels: stypes,
			spec: func() stats.DesignSpec {
				return stats.DesignSpec{Clusters: clus2.codes(t, "dnum", nil), FPC: clus2.numbers(t, "fpc1"),
					Stages: []stats.Stage{{Clusters: clus2.codes(t, "snum", nil), FPC: clus2.numbers(t, "fpc2")}}}
			},
			ref:    "apiclus2_fpc proportions",
			design: stats.DesignInfo{Clusters: []string{"dnum", "snum"}, FPC: []string{"fpc1", "fpc2"}, LonelyPSU: "fail", NStrata: 1, NPSU: 40},
		},
		{
			// No R case stratifies apiclus1; stats directly is the check.
			name: "strata with fpc", form: "apiclus1", fr: clus1, flags: []string{"--strata", "stype", "--fpc", "fpc1", "--lonely-psu", "adjust"},
			question: "awards", levels: yn,
			spec: func() stats.DesignSpec {
				return stats.DesignSpec{Strata: clus1.codes(t, "stype", stypes), FPC: clus1.numbers(t, "fpc"), Lonely: stats.LonelyAdjust}
			},
			design: stats.DesignInfo{Strata: "stype", FPC: []string{"fpc1"}, LonelyPSU: "adjust", NStrata: 3, NPSU: 183},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"analyze", "--db", db, "--form", c.form, "--all-responses", "--question", c.question}, c.flags...)
			code, out, errs := runCLI(t, args...)
			if code != 0 {
				t.Fatalf("analyze: exit %d: %s", code, errs)
			}
			var an stats.Analysis
			if err := json.Unmarshal([]byte(out), &an); err != nil {
				t.Fatal(err)
			}
			if an.Design == nil || fmt.Sprint(*an.Design) != fmt.Sprint(c.design) {
				t.Errorf("design %+v, want %+v", an.Design, c.design)
			}
			if (an.Weights != nil) != c.rake {
				t.Errorf("weights %+v, want weighted %v", an.Weights, c.rake)
			}
			// stats directly, on the design built from the CSV.
			d, err := stats.NewDesign(c.spec())
			if err != nil {
				t.Fatal(err)
			}
			if c.rake {
				ms := []stats.Margin{
					{Field: "stype", Codes: c.fr.codes(t, "stype", stypes), Levels: stypes, Totals: []float64{4421, 755, 1018}},
					{Field: "sch_wide", Codes: c.fr.codes(t, "sch.wide", yn), Levels: yn, Totals: []float64{1072, 5122}},
				}
				if d, _, err = stats.Rake(d, ms, stats.RakeOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			est, err := stats.Proportions(d, c.question, c.fr.codes(t, strings.ReplaceAll(c.question, "_", "."), c.levels), c.levels)
			if err != nil {
				t.Fatal(err)
			}
			var ref []float64
			if c.ref != "" {
				ref = refProportions(t, c.ref)
			}
			q := an.Questions[0]
			if q.Name != c.question || len(q.Choices) != len(c.levels) {
				t.Fatalf("table %+v", q)
			}
			for j, ch := range q.Choices {
				got := float64(ch.SE) / 100
				if want := est.SE(j); math.Abs(got-want) > 1e-9*want {
					t.Errorf("%s: SE %.12g, stats directly %.12g", ch.Name, got, want)
				}
				if want := est.Value[j]; math.Abs(float64(ch.Percent)/100-want) > 1e-9 {
					t.Errorf("%s: percent %v, stats directly %v", ch.Name, ch.Percent, 100*want)
				}
				if ref != nil && math.Abs(got-ref[j]) > 1e-6*ref[j] {
					t.Errorf("%s: SE %.12g, R %.12g", ch.Name, got, ref[j])
				}
			}
		})
	}

	bad := []struct {
		flags []string
		want  []string // in the message
		code  int
	}{
		{[]string{"--cluster", "nosuch"}, []string{"--cluster", "nosuch"}, 2},
		{[]string{"--strata", "note"}, []string{"--strata", "note", "text"}, 2},
		{[]string{"--cluster", "dnum", "--fpc", "stype"}, []string{"--fpc", "stype"}, 2},
		{[]string{"--cluster", "dnum,snum", "--fpc", "fpc1"}, []string{"--fpc", "2 stages"}, 2},
		{[]string{"--cluster", "fpc2"}, []string{"--cluster", "fpc2", "not answered"}, 2},
		{[]string{"--cluster", "dnum", "--lonely-psu", "sometimes"}, []string{"--lonely-psu", "sometimes"}, 2},
		// stats refuses clusters not nested in strata: said, naming the design.
		{[]string{"--strata", "stype", "--cluster", "dnum"}, []string{"--cluster", "strata stype", "nested in strata"}, 2},
	}
	for _, b := range bad {
		args := append([]string{"analyze", "--db", db, "--form", "apiclus1", "--all-responses"}, b.flags...)
		code, _, errs := runCLI(t, args...)
		if code != b.code {
			t.Errorf("%v: exit %d (%s), want %d", b.flags, code, errs, b.code)
		}
		for _, w := range b.want {
			if !strings.Contains(errs, w) {
				t.Errorf("%v: %q lacks %q", b.flags, errs, w)
			}
		}
	}
	// compare takes the same design flags for both waves.
	if code, out, errs := runCLI(t, "compare", "--db", db, "--form", "apiclus2", "--base", "apiclus1", "--all-responses", "--cluster", "dnum"); code != 0 || !strings.Contains(out, "awards") {
		t.Errorf("compare: exit %d: %s %s", code, errs, out)
	}
}
