package security_test

import (
	"testing"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/sample"
	"github.com/govsurvey/govsurvey/security"
)

// BenchmarkSplit is the cost sealing adds to each stored response of the
// netizen form (nothing to seal: the common case of the national survey).
func BenchmarkSplit(b *testing.B) {
	f, err := form.ParseTemplate("netizen_2019")
	if err != nil {
		b.Fatal(err)
	}
	g, err := sample.New(f, sample.Options{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	var encs [][]byte
	for range 256 {
		enc, err := f.EncodeAnswers(g.Next().Answers)
		if err != nil {
			b.Fatal(err)
		}
		encs = append(encs, enc)
	}
	kr, _ := newKeyring(b)
	s := security.NewSealer(kr)
	b.ResetTimer()
	for i := range b.N {
		if _, _, err := s.Split(f, "netizen_2019", "id", encs[i%len(encs)]); err != nil {
			b.Fatal(err)
		}
	}
}
