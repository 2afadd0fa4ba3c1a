package bench

import (
	"context"
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
