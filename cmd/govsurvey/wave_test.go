package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/sample"
)

// seedPlan is the seed plan of formID at 1/100 of the seed report.
func seedPlan(t *testing.T, formID string) sample.Plan {
	t.Helper()
	plan, err := sample.SeedPlan(formID, 100)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// importWave registers the instrument base under formID (the form id
// renamed when they differ), writes the responses plan generates as CSV
// and imports them with the command line, as an operator would. It
// returns the form, so that a test can ask the generator which responses
// it made defective and why.
func importWave(t *testing.T, dir, db, base, formID string, plan sample.Plan) *form.Form {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(instruments, base+".md"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, formID+".md")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(src), base, formID)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, "form", "add", "--db", db, path); code != 0 {
		t.Fatalf("form add: exit %d: %s", code, errs)
	}
	f, err := form.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	csvPath := filepath.Join(dir, formID+".csv")
	out, err := os.Create(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.WriteCSV(out, f); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, "import", "--db", db, "--form", formID, csvPath); code != 0 {
		t.Fatalf("import: exit %d: %s", code, errs)
	}
	return f
}
