// Package bench holds govsurvey's built-in benchmarks, shared by the
// `govsurvey bench` command and the Go benchmarks beside them. They measure;
// they never decide pass or fail. Figures go to BENCHMARKS.md.
package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/sample"
	"github.com/govsurvey/govsurvey/store"
)

// ImportOptions configure Ingest.
type ImportOptions struct {
	Rows     int    // responses to generate and import
	Form     string // built-in form to use; default netizen_2019
	TempDir  string // where the generated CSV goes; default os.TempDir()
	Seed     uint64
	Progress func(collect.Progress)
}

// ImportResult is what one import run measured.
type ImportResult struct {
	Rows          int
	Added         int
	FileBytes     int64
	Elapsed       time.Duration // the import alone, not the generation of the file
	RowsPerSecond float64
	HeapStart     uint64 // live heap before the import, bytes
	HeapPeak      uint64 // highest live heap sampled during it
}

func (r ImportResult) String() string {
	return fmt.Sprintf("%d rows (%.1f MB CSV) imported in %s: %.0f rows/s; heap %.1f MB before, peak %.1f MB",
		r.Rows, float64(r.FileBytes)/1e6, r.Elapsed.Round(time.Millisecond), r.RowsPerSecond,
		float64(r.HeapStart)/1e6, float64(r.HeapPeak)/1e6)
}

// Import generates a §2 CSV of opts.Rows sample responses for a built-in
// form and imports it into st through the same path as `govsurvey import`,
// sampling the heap while it runs to show whether memory stays flat.
func Import(ctx context.Context, st store.Store, opts ImportOptions) (ImportResult, error) {
	if opts.Form == "" {
		opts.Form = "netizen_2019"
	}
	data, name, err := form.Template(opts.Form)
	if err != nil {
		return ImportResult{}, err
	}
	fv, f, _, err := collect.AddForm(ctx, st, name, data)
	if err != nil {
		return ImportResult{}, err
	}
	g, err := sample.New(f, sample.Options{Seed: opts.Seed, Start: time.Now().UTC().Add(-24 * time.Hour), Interval: time.Millisecond})
	if err != nil {
		return ImportResult{}, err
	}
	tmp, err := os.CreateTemp(opts.TempDir, "govsurvey-bench-*.csv")
	if err != nil {
		return ImportResult{}, err
	}
	defer os.Remove(tmp.Name())
	if err := g.WriteCSV(tmp, opts.Rows); err != nil {
		tmp.Close()
		return ImportResult{}, err
	}
	size, _ := tmp.Seek(0, 2)
	if err := tmp.Close(); err != nil {
		return ImportResult{}, err
	}

	runtime.GC()
	res := ImportResult{Rows: opts.Rows, FileBytes: size, HeapStart: liveHeap()}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var peak uint64
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if h := liveHeap(); h > peak {
				peak = h
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	start := time.Now()
	ir, err := collect.Import(ctx, st, fv, f, collect.ImportSource{Name: filepath.Base(tmp.Name()), Path: tmp.Name()},
		collect.ImportOptions{Progress: opts.Progress})
	res.Elapsed = time.Since(start)
	close(stop)
	wg.Wait()
	if err != nil {
		return res, err
	}
	res.Added = ir.Added
	res.HeapPeak = peak
	res.RowsPerSecond = float64(ir.Rows) / res.Elapsed.Seconds()
	return res, nil
}

func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
