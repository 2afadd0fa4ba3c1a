package bench

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/store"
)

// TestIngestSmall runs the ingest benchmark briefly so that CI keeps it
// working; it checks that what was acknowledged is stored, not speed.
func TestIngestSmall(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := Ingest(ctx, st, IngestOptions{Clients: 4, Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond, Rounds: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Server.Acked == 0 || res.Bare.Acked == 0 || res.Server.Failed != 0 || res.Bare.Failed != 0 {
		t.Errorf("server %+v, bare %+v", res.Server, res.Bare)
	}
	if len(res.RoundRatios) != 2 || res.RoundRatios[0] <= 0 || res.RoundRatios[1] <= 0 {
		t.Errorf("round ratios %v, want one a round", res.RoundRatios)
	}
	if res.Missing != 0 || res.Verified < res.Server.Acked {
		t.Errorf("%d acknowledged submissions missing, %d verified, %d acknowledged in the measured rounds",
			res.Missing, res.Verified, res.Server.Acked)
	}
	n, err := st.CountResponses(ctx, "netizen_2019")
	if err != nil {
		t.Fatal(err)
	}
	if n != res.Verified {
		t.Errorf("%d stored, %d acknowledged", n, res.Verified)
	}
}

func TestSpread(t *testing.T) {
	tests := []struct {
		in          []float64
		lo, mid, hi float64
	}{
		{[]float64{0.5}, 0.5, 0.5, 0.5},
		{[]float64{0.52, 0.48, 0.50}, 0.48, 0.50, 0.52},
		{[]float64{0.6, 0.4, 0.55, 0.45}, 0.4, 0.5, 0.6},
	}
	for _, tt := range tests {
		lo, mid, hi := spread(tt.in)
		if lo != tt.lo || math.Abs(mid-tt.mid) > 1e-12 || hi != tt.hi {
			t.Errorf("spread(%v) = %v, %v, %v; want %v, %v, %v", tt.in, lo, mid, hi, tt.lo, tt.mid, tt.hi)
		}
	}
}
