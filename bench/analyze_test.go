package bench

import (
	"bytes"
	"context"
	"encoding/csv"
	"testing"
)

// TestAnalyzeSmall runs the analysis benchmark on a few rows so that CI
// keeps it working; it checks what it counted, not speed.
func TestAnalyzeSmall(t *testing.T) {
	var out bytes.Buffer
	res, err := Analyze(context.Background(), AnalyzeOptions{Rows: 20000, CSV: &out})
	if err != nil {
		t.Fatal(err)
	}
	if res.Valid <= 0 || res.Valid >= res.Rows {
		t.Errorf("%d valid of %d: cleaning dropped nothing or everything", res.Valid, res.Rows)
	}
	if len(res.Stages) != 6 || res.Weights == nil || !res.Weights.Converged {
		t.Errorf("stages %v, weights %+v", res.Stages, res.Weights)
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != res.Valid+1 {
		t.Errorf("CSV has %d rows, want %d and a header", len(recs), res.Valid)
	}
	t.Log(res)
}
