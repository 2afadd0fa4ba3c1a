package stats

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// TestMultiStageSpec: the checks of a multi-stage design that R makes at
// svydesign() time, and the weights taken from the fpcs.
func TestMultiStageSpec(t *testing.T) {
	psu := []int32{1, 1, 2, 2, 3, 3}
	ssu := []int32{1, 2, 1, 2, 1, 2}
	n1 := []float64{10, 10, 10, 10, 10, 10}
	n2 := []float64{4, 4, 5, 5, 2, 2}
	tests := []struct {
		name string
		spec DesignSpec
		want string // "" for no error
	}{
		{"two stages", DesignSpec{Clusters: psu, FPC: n1, Stages: []Stage{{Clusters: ssu, FPC: n2}}}, ""},
		{"no fpc", DesignSpec{Clusters: psu, Stages: []Stage{{Clusters: ssu}}}, ""},
		{"fpc at stage 1 only", DesignSpec{Clusters: psu, FPC: n1, Stages: []Stage{{Clusters: ssu}}}, "every stage or at none"},
		{"fpc at stage 2 only", DesignSpec{Clusters: psu, Stages: []Stage{{Clusters: ssu, FPC: n2}}}, "every stage or at none"},
		{"no first-stage clusters", DesignSpec{Rows: 6, Stages: []Stage{{Clusters: ssu}}}, "first stage's clusters"},
		{"a stage after rows", DesignSpec{Clusters: psu, Stages: []Stage{{}, {Clusters: ssu}}}, "units are the rows"},
		{"fpc varies in a PSU", DesignSpec{Clusters: psu, FPC: n1, Stages: []Stage{{Clusters: ssu, FPC: []float64{4, 5, 5, 5, 2, 2}}}}, "varies within stratum"},
		{"over 100%", DesignSpec{Clusters: psu, FPC: n1, Stages: []Stage{{Clusters: ssu, FPC: []float64{4, 4, 1, 1, 2, 2}}}}, "more than 100%"},
		{"sizes and fractions", DesignSpec{Clusters: psu, FPC: n1, Stages: []Stage{{Clusters: ssu, FPC: []float64{.5, .5, .4, .4, 1, 1}}}}, "all population sizes"},
		{"unit in two strata", DesignSpec{Clusters: psu, Stages: []Stage{{Clusters: []int32{1, 1, 1, 2, 1, 2}, Strata: []int32{1, 2, 1, 1, 1, 1}}}}, "two strata"},
		{"short column", DesignSpec{Clusters: psu, Stages: []Stage{{Clusters: ssu[:5]}}}, "different lengths"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewDesign(tt.spec)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
	// Units nest in the stage above: the same SSU code under two PSUs is
	// two units, so each PSU has two SSUs drawn and the weights are
	// N1/n1 · N2/n2 (R's svydesign without weights).
	d, err := NewDesign(tests[0].spec)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range d.Weights() {
		if want := 10.0 / 3 * n2[i] / 2; math.Abs(w-want) > 1e-12 {
			t.Errorf("row %d: weight %v, want %v", i+1, w, want)
		}
	}
}

// TestMultiStageWeightsFromFPC: without weights, apiclus2's design weights
// from fpc1 and fpc2 are the data set's own pw column.
func TestMultiStageWeightsFromFPC(t *testing.T) {
	fr := readFrame(t, filepath.Join("testdata", "apiclus2.csv"))
	dnum, _ := fr.factor(t, "dnum")
	snum, _ := fr.factor(t, "snum")
	d, err := NewDesign(DesignSpec{Clusters: dnum, FPC: fr.numeric(t, "fpc1"),
		Stages: []Stage{{Clusters: snum, FPC: fr.numeric(t, "fpc2")}}})
	if err != nil {
		t.Fatal(err)
	}
	for i, pw := range fr.numeric(t, "pw") {
		if w := d.Weight(i); math.Abs(w-pw) > 1e-9*pw {
			t.Errorf("row %d: weight %v, pw %v", i+1, w, pw)
		}
	}
	if d.DF() != 40-1 {
		t.Errorf("df %d, want 39 (40 PSUs, one stratum: later stages add none, as R's degf)", d.DF())
	}
}
