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
	g, err := sample.New(f, sample.Options{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	var subs []Submission
	for len(subs) < 64 {
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
		if _, err := Validate(f, answers, now); err != nil {
			continue
		}
		subs = append(subs, Submission{Answers: answers, Paradata: &Paradata{Lang: "zh", Pages: []PageTime{
			{Page: "demo", MS: 41000}, {Page: "perception", MS: 12000}, {Page: "govsvc", MS: 65000}, {Page: "policy", MS: 30000}}}})
	}
	i := 0
	for b.Loop() {
		s := subs[i%len(subs)]
		i++
		a, err := Validate(f, s.Answers, now)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.EncodeAnswers(a); err != nil {
			b.Fatal(err)
		}
		if _, err := cleanParadata(s.Paradata, "wechat"); err != nil {
			b.Fatal(err)
		}
	}
}

// netizenForm is the built-in netizen_2019 form, compiled.
func netizenForm(tb testing.TB) *form.Form {
	tb.Helper()
	data, name, err := form.Template("netizen_2019")
	if err != nil {
		tb.Fatal(err)
	}
	f, err := form.Parse(name, data)
	if err != nil {
		tb.Fatal(err)
	}
	return f
}
