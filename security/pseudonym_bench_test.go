package security

import "testing"

func BenchmarkPseudonym(b *testing.B) {
	k, err := GeneratePseudonymKey()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		Pseudonym(k, PurposeClient, "0123456789abcdef0123456789abcdef")
	}
}
