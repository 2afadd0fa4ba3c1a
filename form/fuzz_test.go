package form

import (
	"os"
	"path/filepath"
	"testing"
)

// Fuzz targets for the XLSForm readers (.md, .csv, .xlsx, .xls). Each
// runs the whole of Parse (reader and compiler), as `govsurvey form check`
// does on an uploaded file, and asks only that it returns: no panic, no
// hang, and memory bounded by the readers' limits. The seeds are the
// conformance forms (../../shared/xlsform-corpus) and the instruments when
// present, the small forms of testdata otherwise, and the inputs kept in
// testdata/fuzz (Go's corpus format): `go test` runs them all as ordinary
// tests.

// corpusDir is pyxform's conformance corpus, as in conformance_test.go.
const corpusDir = "../../shared/xlsform-corpus"

// fuzzSeeds returns the files matching the patterns, at most limit of
// them, read from disk.
func fuzzSeeds(f *testing.F, limit int, patterns ...string) [][]byte {
	f.Helper()
	var out [][]byte
	for _, p := range patterns {
		matches, err := filepath.Glob(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, m := range matches {
			if len(out) >= limit {
				return out
			}
			b, err := os.ReadFile(m)
			if err != nil {
				f.Fatal(err)
			}
			out = append(out, b)
		}
	}
	return out
}

// parseNoPanic is the property every fuzz target checks: Parse returns a
// form or an *Error with problems, never anything else.
func parseNoPanic(t *testing.T, name string, data []byte) {
	f, err := Parse(name, data)
	if err == nil {
		if f == nil {
			t.Fatal("no form and no error")
		}
		return
	}
	fe, ok := err.(*Error)
	if !ok || len(fe.Problems) == 0 {
		t.Fatalf("error is not an *Error with problems: %T %v", err, err)
	}
}

func FuzzReadMarkdown(f *testing.F) {
	for _, b := range fuzzSeeds(f, 400,
		"testdata/*.md",
		filepath.Join(corpusDir, "inline", "*.md"),
		filepath.Join(corpusDir, "files", "*", "*.md"),
		"../../shared/instruments/*.md") {
		f.Add(b)
	}
	f.Add([]byte("| survey |\n| | type | name | label |\n| | text | q\\|1 | Q # not a comment | # comment\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		parseNoPanic(t, "fuzz.md", data)
	})
}

func FuzzReadCSV(f *testing.F) {
	for _, b := range fuzzSeeds(f, 100, filepath.Join(corpusDir, "files", "*", "*.csv")) {
		f.Add(b)
	}
	f.Add([]byte("survey,,,\n,type,name,label\n,text,q1,Q1\nchoices,,,\n,list_name,name,label\n"))
	f.Add([]byte("type,name,label\nselect_one yn,q1,\"Q, \"\"quoted\"\"\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		parseNoPanic(t, "fuzz.csv", data)
		parseNoPanic(t, "survey.csv", data)
	})
}

func FuzzReadXLSX(f *testing.F) {
	for _, b := range fuzzSeeds(f, 40,
		"templates/*.xlsx",
		filepath.Join(corpusDir, "files", "*", "*.xlsx")) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		parseNoPanic(t, "fuzz.xlsx", data)
	})
}

func FuzzReadXLS(f *testing.F) {
	for _, b := range fuzzSeeds(f, 40,
		"testdata/xlsform/*.xls",
		filepath.Join(corpusDir, "files", "*", "*.xls")) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		parseNoPanic(t, "fuzz.xls", data)
	})
}
