package clean

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/sample"
	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// benchSize is how many responses the benchmarks clean: a million, the
// size the issue asks to clean in seconds, unless GOVSURVEY_BENCH_RESPONSES
// says otherwise (storing a million responses first takes a while).
func benchSize(b *testing.B) int {
	if s := os.Getenv("GOVSURVEY_BENCH_RESPONSES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("GOVSURVEY_BENCH_RESPONSES=%q", s)
		}
		return n
	}
	return 1_000_000
}

// benchPool is the netizen seed data at 1/100 (1,895 responses, 174 of
// them defective), encoded; the benchmarks cycle through it with fresh
// instance ids and clients.
func benchPool(b *testing.B) (*form.Form, []store.Response) {
	f, err := form.ParseTemplate("netizen_2019")
	if err != nil {
		b.Fatal(err)
	}
	plan, err := sample.SeedPlan("netizen_2019", 100)
	if err != nil {
		b.Fatal(err)
	}
	var pool []store.Response
	err = plan.Generate(f, func(r sample.Response) error {
		enc, err := f.EncodeAnswers(r.Answers)
		if err != nil {
			return err
		}
		pool = append(pool, store.Response{FormID: f.ID, Revision: 1, Started: r.Started, Ended: r.Ended,
			Client: r.Client, Channel: "web", Answers: enc})
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return f, pool
}

// nth is response i of a benchmark: pool entry i mod len(pool), submitted
// i seconds after t0, with its own id; a client repeats only within one
// pass over the pool, so the pool's duplicates stay duplicates.
func nth(pool []store.Response, i int, t0 time.Time) store.Response {
	r := pool[i%len(pool)]
	r.InstanceID = "r" + strconv.Itoa(i)
	r.Client = r.Client + "-" + strconv.Itoa(i/len(pool))
	at := t0.Add(time.Duration(i) * time.Second)
	shift := at.Sub(pool[0].Ended)
	r.SubmittedAt, r.Started, r.Ended = at, r.Started.Add(shift), r.Ended.Add(shift)
	return r
}

// BenchmarkRules measures the rules alone: a million responses through
// the cleaner, as they would arrive from the store.
func BenchmarkRules(b *testing.B) {
	f, pool := benchPool(b)
	n := benchSize(b)
	t0 := time.Date(2019, 7, 1, 0, 0, 0, 0, time.UTC)
	load := func(int) (*form.Form, error) { return f, nil }
	for b.Loop() {
		c, err := newCleaner(DefaultSettings(), f, load)
		if err != nil {
			b.Fatal(err)
		}
		c.reserve(n)
		for i := range n {
			if err := c.add(nth(pool, i, t0)); err != nil {
				b.Fatal(err)
			}
		}
		res := c.finish(f.ID)
		if res.collected != n || len(res.flags) == 0 {
			b.Fatalf("%d collected, %d flagged", res.collected, len(res.flags))
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "responses/s")
}

// BenchmarkRun measures Run end to end on a store holding a million
// responses: streaming them, the rules, and writing the flags.
func BenchmarkRun(b *testing.B) {
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			ctx := b.Context()
			st := be.Open(b)
			data, name, err := form.Template("netizen_2019")
			if err != nil {
				b.Fatal(err)
			}
			fv, _, err := register(ctx, st, name, data)
			if err != nil {
				b.Fatal(err)
			}
			_, pool := benchPool(b)
			n := benchSize(b)
			t0 := time.Date(2019, 7, 1, 0, 0, 0, 0, time.UTC)
			batch := make([]store.Response, 0, 5000)
			for i := range n {
				r := nth(pool, i, t0)
				r.FormID, r.Revision = fv.FormID, fv.Revision
				batch = append(batch, r)
				if len(batch) == cap(batch) || i == n-1 {
					if _, err := st.AddResponses(ctx, batch); err != nil {
						b.Fatal(err)
					}
					batch = batch[:0]
				}
			}
			var fun Funnel
			for b.Loop() {
				if fun, err = Run(ctx, st, fv.FormID); err != nil {
					b.Fatal(err)
				}
			}
			if fun.Collected != n {
				b.Fatalf("collected %d, want %d", fun.Collected, n)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "responses/s")
			b.ReportMetric(float64(fun.Flagged), "flagged")
		})
	}
}

// register compiles an XLSForm and stores it as a form revision, as
// 'govsurvey form add' does.
func register(ctx context.Context, st store.Store, name string, data []byte) (store.FormVersion, *form.Form, error) {
	f, err := form.Parse(name, data)
	if err != nil {
		return store.FormVersion{}, nil, err
	}
	def, err := f.Definition()
	if err != nil {
		return store.FormVersion{}, nil, err
	}
	sum := sha256.Sum256(def)
	fv, _, err := st.AddForm(ctx, store.FormVersion{FormID: f.ID, Version: f.Version, Title: f.Title,
		Hash: hex.EncodeToString(sum[:]), Definition: def, Source: data, SourceName: name})
	return fv, f, err
}
