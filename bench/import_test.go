package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/govsurvey/govsurvey/store"
)

// TestImportSmall runs the benchmark path on a few rows so that CI keeps it
// working; it checks counts, not speed.
func TestImportSmall(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := Import(ctx, st, ImportOptions{Rows: 500, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	n, err := st.CountResponses(ctx, "netizen_2019")
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 500 || n != 500 {
		t.Errorf("added %d, stored %d, want 500", res.Added, n)
	}
}

func benchmarkImport(b *testing.B, open func(b *testing.B) store.Store) {
	ctx := context.Background()
	rows := 20000
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st := open(b)
		b.StartTimer()
		res, err := Import(ctx, st, ImportOptions{Rows: rows, TempDir: b.TempDir(), Seed: uint64(i)})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(res.RowsPerSecond, "rows/s")
		b.ReportMetric(float64(res.HeapPeak)/1e6, "peak-heap-MB")
		st.Close()
	}
}

func BenchmarkImportSQLite(b *testing.B) {
	benchmarkImport(b, func(b *testing.B) store.Store {
		st, err := store.OpenSQLite(context.Background(), filepath.Join(b.TempDir(), "b.db"))
		if err != nil {
			b.Fatal(err)
		}
		return st
	})
}

// BenchmarkImportPostgres needs GOVSURVEY_BENCH_POSTGRES: a URL of an empty
// database it may fill (responses are not removed).
func BenchmarkImportPostgres(b *testing.B) {
	url := os.Getenv("GOVSURVEY_BENCH_POSTGRES")
	if url == "" {
		b.Skip("GOVSURVEY_BENCH_POSTGRES not set")
	}
	benchmarkImport(b, func(b *testing.B) store.Store {
		st, err := store.OpenPostgres(context.Background(), url)
		if err != nil {
			b.Fatal(err)
		}
		return st
	})
}
