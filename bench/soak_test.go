package bench

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/store/storetest"
)

// TestSoakSmall runs a two-second soak on SQLite: it samples, every
// acknowledged submission is stored, staff reads succeed, and nothing
// answers with a server error.
func TestSoakSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server under load")
	}
	st := storetest.OpenSQLite(t)
	res, err := Soak(context.Background(), st, SoakOptions{
		Duration: 2 * time.Second, Every: 250 * time.Millisecond, Submitters: 4, SubmitRate: 100,
		MaxRows: 50, Readers: 1, Analysts: 1, Pause: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Missing != 0 {
		t.Errorf("%d acknowledged submissions missing", res.Missing)
	}
	if len(res.Samples) < 3 {
		t.Errorf("%d samples", len(res.Samples))
	}
	// MaxRows: past 50, submissions resend stored ids and get 200.
	if res.Statuses["submit 201"] == 0 || res.Statuses["submit 201"] > 50 || res.Statuses["submit 200"] == 0 {
		t.Errorf("submissions: %v", res.Statuses)
	}
	if res.Statuses["forms 200"] == 0 {
		t.Errorf("staff reads: %v", res.Statuses)
	}
	for k, n := range res.Statuses {
		if strings.HasSuffix(k, " error") || strings.Contains(k, " 5") {
			t.Errorf("%s ×%d", k, n)
		}
	}
	for _, s := range res.Samples {
		if s.HeapLive == 0 || s.Goroutines == 0 {
			t.Errorf("sample %+v lacks figures", s)
		}
	}
	t.Logf("\n%s", res)
}

func TestSlope(t *testing.T) {
	for _, c := range []struct {
		x, y []float64
		want float64
	}{
		{[]float64{0, 1, 2, 3}, []float64{1, 3, 5, 7}, 2},
		{[]float64{0, 1, 2}, []float64{4, 4, 4}, 0},
		{[]float64{0, 1, 2, 3}, []float64{0, 2, 0, 2}, 0.4}, // fitted by hand: (4·8−6·4)/(4·14−36)
		{[]float64{1, 1}, []float64{0, 5}, 0},               // no spread in x
	} {
		if got := slope(c.x, c.y); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("slope(%v, %v) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
}
