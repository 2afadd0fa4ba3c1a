package collect

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/govsurvey/govsurvey/sample"
	"github.com/govsurvey/govsurvey/store"
)

// TestRoundTrip imports a file in the exact shape Export writes and exports
// it again: the bytes must be the same.
func TestRoundTrip(t *testing.T) {
	cases := []struct {
		file string
		opts ExportOptions
	}{
		{"testdata/canonical.csv", ExportOptions{IncludeClient: true}},
		{"testdata/canonical_split.csv", ExportOptions{SplitMultiple: true}},
	}
	eachBackend(t, func(t *testing.T, st store.Store) {
		for _, tc := range cases {
			t.Run(tc.file, func(t *testing.T) {
				ctx := context.Background()
				// A form of its own per case: the cases share the instance ids.
				data, err := os.ReadFile("../../shared/instruments/netizen_2019.md")
				if err != nil {
					t.Fatal(err)
				}
				formID := strings.TrimSuffix(strings.TrimPrefix(tc.file, "testdata/"), ".csv")
				data = bytes.Replace(data, []byte("| netizen_2019 |"), []byte("| "+formID+" |"), 1)
				fv, f := addForm(t, st, formID+".md", data)
				if fv.FormID != formID {
					t.Fatalf("form id %q, want %q", fv.FormID, formID)
				}
				if _, err := Import(ctx, st, fv, f, ImportSource{Path: tc.file}, ImportOptions{Now: importNow}); err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				n, err := Export(ctx, st, fv, f, &out, tc.opts)
				if err != nil {
					t.Fatal(err)
				}
				want, err := os.ReadFile(tc.file)
				if err != nil {
					t.Fatal(err)
				}
				if n != 4 {
					t.Errorf("exported %d rows, want 4", n)
				}
				if got := out.String(); got != string(want) {
					t.Errorf("export differs from the imported file:\n%s", lineDiff(string(want), got))
				}
			})
		}
	})
}

// lineDiff shows the first lines that differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)) && b.Len() < 2000; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n want %q\n  got %q\n", i+1, wl, gl)
		}
	}
	return b.String()
}

func TestExportXLSX(t *testing.T) {
	eachBackend(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		fv, f := addNetizen(t, st)
		const file = "testdata/canonical.csv"
		if _, err := Import(ctx, st, fv, f, ImportSource{Path: file}, ImportOptions{Now: importNow}); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if _, err := Export(ctx, st, fv, f, &out, ExportOptions{Format: "xlsx", IncludeClient: true}); err != nil {
			t.Fatal(err)
		}
		x, err := excelize.OpenReader(&out)
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		if sheets := x.GetSheetList(); !slices.Equal(sheets, []string{"responses"}) {
			t.Errorf("sheets %q, want [responses]", sheets)
		}
		got, err := x.GetRows("responses")
		if err != nil {
			t.Fatal(err)
		}
		in, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		want, err := csv.NewReader(in).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		want[0][0] = strings.TrimPrefix(want[0][0], "\ufeff")
		if len(got) != len(want) {
			t.Fatalf("%d rows, want %d", len(got), len(want))
		}
		for i := range want {
			// GetRows leaves out the empty cells at the end of a row.
			row := append(got[i], make([]string, len(want[i])-len(got[i]))...)
			if !slices.Equal(row, want[i]) {
				t.Errorf("row %d:\n got %q\nwant %q", i+1, row, want[i])
			}
		}
	})
}

// TestExportRevisions: responses of an older revision are written under the
// latest revision's columns, by question name.
func TestExportRevisions(t *testing.T) {
	eachBackend(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		src, err := os.ReadFile("../../shared/instruments/netizen_2019.md")
		if err != nil {
			t.Fatal(err)
		}
		fv1, f1 := addForm(t, st, "netizen_2019.md", src)
		// Revision 2 drops "convenient" and adds "comment".
		lines := strings.Split(string(src), "\n")
		var changed []string
		for _, l := range lines {
			switch {
			case strings.Contains(l, "| convenient                 |"):
				continue
			case strings.Contains(l, "| gov_should                 |"):
				changed = append(changed, l, "|        | text | comment | 意见 | Comment | | |")
				continue
			case strings.Contains(l, "| netizen_2019 | 2019    |"):
				l = strings.Replace(l, "| 2019    |", "| 2019b   |", 1)
			}
			changed = append(changed, l)
		}
		fv2, f2 := addForm(t, st, "netizen_2019.md", []byte(strings.Join(changed, "\n")))
		if fv2.Revision != fv1.Revision+1 || f2.Question("convenient") != nil || f2.Question("comment") == nil {
			t.Fatalf("revision 2 not as intended: revision %d", fv2.Revision)
		}
		if _, err := importString(ctx, st, fv1, f1, "r1.csv",
			"instance_id,submitted_at,gender,convenient,gov_risks\nv1,2019-07-01T00:00:00Z,male,unsure,phishing\n", ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := importString(ctx, st, fv2, f2, "r2.csv",
			"instance_id,submitted_at,gender,comment\nv2,2019-07-02T00:00:00Z,female,\"好, 很好\"\n", ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if _, err := Export(ctx, st, fv2, f2, &out, ExportOptions{}); err != nil {
			t.Fatal(err)
		}
		want := "\ufeffinstance_id,started,ended,submitted_at,gender,age_band,education,net_age,occupation,province," +
			"overall_safety,safety_change,used_gov_online,gov_services_used,gov_services_need,convenience_improve," +
			"gov_security,gov_risks,leak_domains,legislation_view,gov_security_services,gov_should,comment\n" +
			"v1,,,2019-07-01T00:00:00Z,male,,,,,,,,,,,,,phishing,,,,,\n" +
			"v2,,,2019-07-02T00:00:00Z,female,,,,,,,,,,,,,,,,,,\"好, 很好\"\n"
		if out.String() != want {
			t.Errorf("export:\n%s\nwant:\n%s", out.String(), want)
		}
	})
}

func TestExportUnknownFormat(t *testing.T) {
	st := openSQLite(t)
	fv, f := addNetizen(t, st)
	if _, err := Export(context.Background(), st, fv, f, &bytes.Buffer{}, ExportOptions{Format: "sav"}); err == nil {
		t.Error("format sav: no error")
	}
}

func TestTerminalProgressQuietWhenNotATerminal(t *testing.T) {
	file, err := os.Create(t.TempDir() + "/progress.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var buf bytes.Buffer
	for _, w := range []io.Writer{&buf, file} {
		p := TerminalProgress(w, "import")
		p(Progress{Phase: "checking", Bytes: 5, Total: 10, Rows: 1})
		p(Progress{Phase: "checking", Bytes: 10, Total: 10, Rows: 2, Done: true})
	}
	if info, err := file.Stat(); err != nil || info.Size() != 0 || buf.Len() != 0 {
		t.Errorf("wrote %d bytes to a buffer and %d to a file, want nothing", buf.Len(), info.Size())
	}
}

// TestRoundTripSample: generated responses, written in §2 shape by package
// sample, come back byte for byte.
func TestRoundTripSample(t *testing.T) {
	st := openSQLite(t)
	fv, f := addNetizen(t, st)
	g, err := sample.New(f, sample.Options{Seed: 7, DuplicateRate: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	var in bytes.Buffer
	in.Write(utf8BOM)
	if err := g.WriteCSV(&in, 300); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := Import(ctx, st, fv, f, ImportSource{Name: "sample.csv", Data: bytes.NewReader(in.Bytes())}, ImportOptions{BatchSize: 64})
	if err != nil || res.Added != 300 {
		t.Fatalf("%+v, %v; want 300 added", res, err)
	}
	var out bytes.Buffer
	if _, err := Export(ctx, st, fv, f, &out, ExportOptions{IncludeClient: true}); err != nil {
		t.Fatal(err)
	}
	if out.String() != in.String() {
		t.Errorf("export differs from the imported file:\n%s", lineDiff(in.String(), out.String()))
	}
}
