package store_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/govsurvey/govsurvey/internal/cputime"
	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// BenchmarkAddResponses stores batches of 1000 new responses, each commit
// durable (fsync on), as an import or a busy collection node would.
func BenchmarkAddResponses(b *testing.B) {
	stores := []struct {
		name string
		open func(testing.TB) store.Store
	}{
		{"sqlite", func(tb testing.TB) store.Store { return storetest.OpenSQLite(tb) }},
		{"postgres", func(tb testing.TB) store.Store {
			if os.Getenv("GOVSURVEY_TEST_POSTGRES") == "" {
				tb.Skip("GOVSURVEY_TEST_POSTGRES is not set")
			}
			return openPostgres(tb)
		}},
	}
	for _, s := range stores {
		b.Run(s.name, func(b *testing.B) {
			benchmarkAddResponses(b, s.open(b), 1000)
		})
		// The size of a group commit's batch with 64 clients submitting
		// (≈ 16–25 in govsurvey bench ingest): what a transaction costs
		// the web path per response.
		b.Run(s.name+"-batch20", func(b *testing.B) {
			benchmarkAddResponses(b, s.open(b), 20)
		})
	}
}

func benchmarkAddResponses(b *testing.B, st store.Store, size int) {
	ctx := b.Context()
	if _, _, err := st.AddForm(ctx, store.FormVersion{FormID: "bench", Hash: "h"}); err != nil {
		b.Fatal(err)
	}
	// About what a 60-question form encodes to.
	rng := rand.New(rand.NewPCG(1, 1))
	answers := make([]byte, 200)
	for i := range answers {
		answers[i] = byte(rng.UintN(256))
	}
	t0 := time.Date(2019, 11, 1, 0, 0, 0, 0, time.UTC)
	batch := make([]store.Response, size)
	n := 0
	cpu0 := cputime.Process()
	for b.Loop() {
		for i := range batch {
			n++
			batch[i] = store.Response{
				// Time-ordered ids, as the web form makes them (UUID v7).
				FormID: "bench", Revision: 1, InstanceID: uuid.Must(uuid.NewV7()).String(),
				Started: t0.Add(time.Duration(n) * time.Second), Ended: t0.Add(time.Duration(n)*time.Second + 9*time.Minute),
				SubmittedAt: t0.Add(time.Duration(n)*time.Second + 10*time.Minute),
				Client:      fmt.Sprintf("client-%d", n%5000), Channel: "web", Answers: answers,
			}
		}
		if _, err := st.AddResponses(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "responses/s")
	if cpu := cputime.Process() - cpu0; cpu > 0 && n > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/response")
	}
}
