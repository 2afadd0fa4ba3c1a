package collect

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/sample"
)

// BenchmarkImport imports generated netizen files of two sizes into a fresh
// SQLite store. rows/s is the import rate; peak-heap-MB, sampled while
// importing, stays flat from the small file to the large one because both
// passes stream.
func BenchmarkImport(b *testing.B) {
	for _, n := range []int{2000, 20000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			path := writeSampleCSV(b, n)
			info, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			var peak uint64
			var ms runtime.MemStats
			sampleHeap := func(Progress) {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
			var elapsed time.Duration
			rows := 0
			for b.Loop() {
				b.StopTimer()
				st := openSQLite(b)
				fv, f := addNetizen(b, st)
				runtime.GC()
				b.StartTimer()
				start := time.Now()
				res, err := Import(context.Background(), st, fv, f, ImportSource{Path: path}, ImportOptions{Progress: sampleHeap})
				elapsed += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				if res.Added != n {
					b.Fatalf("added %d of %d", res.Added, n)
				}
				rows += n
				b.StopTimer()
				st.Close()
				b.StartTimer()
			}
			b.SetBytes(info.Size())
			b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		})
	}
}

// writeSampleCSV writes n generated netizen responses as a §2 file.
func writeSampleCSV(b *testing.B, n int) string {
	b.Helper()
	g, err := sample.New(netizenForm(b), sample.Options{Seed: 1, DuplicateRate: 0.02, SpeederRate: 0.03})
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "responses.csv")
	out, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(out)
	if err := g.WriteCSV(w, n); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkCheckSubmission is the CPU a web submission costs govsurvey
// beyond decoding its JSON and storing it: validation against the netizen
// form, encoding the answers, and the paradata. (govsurvey bench ingest
// measures the whole path; this part is too small to see there.)
func BenchmarkCheckSubmission(b *testing.B) {
	f := netizenForm(b)
	subs := netizenSubmissions(b, f, 64)
	now := time.Now()
	i := 0
	for b.Loop() {
		s := subs[i%len(subs)]
		i++
		c, err := validate(f, s.Answers, now)
		if err != nil {
			b.Fatal(err)
		}
		c.encode()
		c.release()
		if _, err := cleanParadata(s.Paradata, "wechat"); err != nil {
			b.Fatal(err)
		}
	}
}

// netizenSubmissions are n valid submissions to f (the netizen form) from
// the sample generator, as the web form sends them.
func netizenSubmissions(tb testing.TB, f *form.Form, n int) []Submission {
	tb.Helper()
	g, err := sample.New(f, sample.Options{Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	var subs []Submission
	for len(subs) < n {
		r := g.Next()
		answers := make(map[string]any, len(r.Answers))
		for k, v := range r.Answers {
			if q := f.Question(k); q != nil && q.Type == "select_multiple" {
				var names []any
				for _, n := range strings.Fields(v) {
					names = append(names, n)
				}
				answers[k] = names
			} else {
				answers[k] = v
			}
		}
		if _, err := Validate(f, answers, time.Now()); err != nil {
			continue
		}
		subs = append(subs, Submission{Answers: answers, Paradata: &Paradata{Lang: "zh", Pages: []PageTime{
			{Page: "demo", MS: 41000}, {Page: "perception", MS: 12000}, {Page: "govsvc", MS: 65000}, {Page: "policy", MS: 30000}}}})
	}
	return subs
}

// netizenForm is the built-in netizen_2019 form, compiled.
func netizenForm(tb testing.TB) *form.Form {
	tb.Helper()
	f, err := form.ParseTemplate("netizen_2019")
	if err != nil {
		tb.Fatal(err)
	}
	return f
}
