package export

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/sample"
	"github.com/govsurvey/govsurvey/store"
)

// BenchmarkExport exports generated netizen_2019 responses from SQLite in
// each format to a file. GOVSURVEY_BENCH_EXPORT_N sets the number of
// responses (default 20,000; BENCHMARKS.md records 1,000,000). rows/s is
// the export rate; peak-heap-MB is the highest HeapInuse sampled every
// 20 ms while exporting, which stays flat as the number of rows grows.
func BenchmarkExport(b *testing.B) {
	n := 20000
	if s := os.Getenv("GOVSURVEY_BENCH_EXPORT_N"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	st, fv, f := benchStore(b, n)
	for _, format := range []string{"sav", "dta", "parquet"} {
		b.Run(format, func(b *testing.B) {
			var elapsed time.Duration
			var peak uint64
			var size int64
			rows := 0
			for b.Loop() {
				b.StopTimer()
				path := filepath.Join(b.TempDir(), "out."+format)
				out, err := os.Create(path)
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				stop := sampleHeap(&peak)
				b.StartTimer()
				start := time.Now()
				res, err := Export(context.Background(), st, fv, f, out, Options{Format: format, TempDir: b.TempDir()})
				elapsed += time.Since(start)
				b.StopTimer()
				stop()
				out.Close()
				if err != nil {
					b.Fatal(err)
				}
				if res.Rows != n {
					b.Fatalf("exported %d of %d", res.Rows, n)
				}
				info, err := os.Stat(path)
				if err != nil {
					b.Fatal(err)
				}
				size = info.Size()
				rows += n
				b.StartTimer()
			}
			b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(size)/(1<<20), "file-MB")
		})
	}
}

// sampleHeap records the highest HeapInuse until the returned stop is called.
func sampleHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			*peak = max(*peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// benchStore is a SQLite store with n generated netizen_2019 responses.
func benchStore(b *testing.B, n int) (store.Store, store.FormVersion, *form.Form) {
	b.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	data, name, err := form.Template("netizen_2019")
	if err != nil {
		b.Fatal(err)
	}
	fv, f, _, err := collect.AddForm(ctx, st, name, data)
	if err != nil {
		b.Fatal(err)
	}
	g, err := sample.New(f, sample.Options{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]store.Response, 0, 5000)
	for i := 0; i < n; i++ {
		r := g.Next()
		enc, err := f.EncodeAnswers(r.Answers)
		if err != nil {
			b.Fatal(err)
		}
		batch = append(batch, store.Response{
			FormID: fv.FormID, Revision: fv.Revision, InstanceID: r.InstanceID,
			Started: r.Started, Ended: r.Ended, SubmittedAt: r.SubmittedAt,
			Client: r.Client, Channel: "import", Answers: enc,
		})
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := st.AddResponses(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	return st, fv, f
}
