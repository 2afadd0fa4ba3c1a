package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/sample"
	"github.com/govsurvey/govsurvey/store"
)

// TestExportAnalystFormats runs 'govsurvey export' for the analyst formats
// on a small generated data set: each file starts as its format says it
// must (the export package's tests read them back with R, PSPP and Arrow).
// The data are never cleaned, hence --all-responses (TestExportCleaning
// covers cleaning).
func TestExportAnalystFormats(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "gs.db")
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	data, name, err := form.Template("netizen_2019")
	if err != nil {
		t.Fatal(err)
	}
	fv, f, _, err := collect.AddForm(ctx, st, name, data)
	if err != nil {
		t.Fatal(err)
	}
	g, err := sample.New(f, sample.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var rs []store.Response
	for range 50 {
		r := g.Next()
		enc, err := f.EncodeAnswers(r.Answers)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, store.Response{FormID: fv.FormID, Revision: fv.Revision, InstanceID: r.InstanceID,
			Started: r.Started, Ended: r.Ended, SubmittedAt: r.SubmittedAt, Client: r.Client, Channel: "import", Answers: enc})
	}
	if _, err := st.AddResponses(ctx, rs); err != nil {
		t.Fatal(err)
	}
	st.Close()

	tests := []struct {
		format, file, magic, say string
	}{
		{"sav", "out.sav", "$FL2", "wrote 50 responses"},
		{"dta", "out.dta", "<stata_dta><header><release>118</release>", "wrote 50 responses"},
		{"parquet", "out.parquet", "PAR1", "wrote 50 responses"},
		{"codebook", "codebook.md", "# Codebook: ", "wrote the codebook"},
		{"codebook", "codebook.html", "<!doctype html>", "wrote the codebook"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			out := filepath.Join(dir, tt.file)
			code, stdout, stderr := runCLI(t, "export", "--form", "netizen_2019", "--format", tt.format, "--out", out, "--all-responses", "--db", "sqlite:"+dbPath)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(stdout, tt.say) {
				t.Errorf("stdout %q lacks %q", stdout, tt.say)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b, []byte(tt.magic)) {
				t.Errorf("%s starts %q, want %q", tt.file, b[:min(len(b), 40)], tt.magic)
			}
		})
	}
}
