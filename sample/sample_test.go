package sample

import (
	"bytes"
	"testing"

	"github.com/govsurvey/govsurvey/form"
)

// The demo, the benchmarks and tests rely on a seed giving the same data.
func TestGeneratorReproducible(t *testing.T) {
	f, err := form.ParseTemplate("netizen_2019")
	if err != nil {
		t.Fatal(err)
	}
	gen := func(seed uint64) []byte {
		g, err := New(f, Options{Seed: seed, DuplicateRate: 0.05, SpeederRate: 0.05})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := g.WriteCSV(&b, 200); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	a, b := gen(7), gen(7)
	if !bytes.Equal(a, b) {
		t.Error("same seed, different data")
	}
	if bytes.Equal(a, gen(8)) {
		t.Error("different seeds, same data")
	}
}
