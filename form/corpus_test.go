package form_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govsurvey/govsurvey/form"
)

// corpusDir is pyxform's conformance corpus beside the repository.
const corpusDir = "../../shared/xlsform-corpus"

type pyxformExpect struct {
	PyxformActual struct {
		OK    *bool  `json:"ok"`
		XForm string `json:"xform"`
		Error string `json:"error"`
	} `json:"pyxform_actual"`
}

func pyxformAccepts(t *testing.T, expectPath string) (accepts, known bool) {
	t.Helper()
	b, err := os.ReadFile(expectPath)
	if err != nil {
		return false, false
	}
	var e pyxformExpect
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("%s: %v", expectPath, err)
	}
	if e.PyxformActual.Error != "" {
		return false, true
	}
	return e.PyxformActual.XForm != "", e.PyxformActual.XForm != ""
}

// TestCorpusSmoke parses every form of pyxform's corpus: none may panic, and
// every refusal must be a *form.Error listing at least one problem. How often
// govsurvey agrees with pyxform is logged (go test -v); conformance itself is
// checked elsewhere.
func TestCorpusSmoke(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skipf("corpus not present: %v", err)
	}
	inline, err := filepath.Glob(filepath.Join(corpusDir, "inline", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	err = filepath.WalkDir(filepath.Join(corpusDir, "files"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !strings.HasSuffix(p, ".expect.json") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	type tally struct{ n, bothOK, bothRefuse, onlyUs, onlyPyxform int }
	var in, fi tally
	count := func(tl *tally, path string, ours error) {
		accepts, known := pyxformAccepts(t, path+".expect.json")
		if !known {
			return
		}
		tl.n++
		switch {
		case ours == nil && accepts:
			tl.bothOK++
		case ours != nil && !accepts:
			tl.bothRefuse++
		case ours == nil:
			tl.onlyUs++
			if testing.Verbose() {
				t.Logf("accepted here, refused by pyxform: %s", filepath.Base(path))
			}
		default:
			tl.onlyPyxform++
			if testing.Verbose() {
				t.Logf("refused here, accepted by pyxform: %s: %v", filepath.Base(path), ours)
			}
		}
	}
	parse := func(p string) error {
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("%s: panic: %v", p, r)
			}
		}()
		_, err := form.ParseFile(p)
		var fe *form.Error
		if err != nil && (!errors.As(err, &fe) || len(fe.Problems) == 0) {
			// Unreadable files (legacy .xls, .xml) are refused with a
			// problem too; anything else is a bug.
			t.Errorf("%s: error is not a *form.Error with problems: %v", p, err)
		}
		return err
	}
	for _, p := range inline {
		count(&in, strings.TrimSuffix(p, ".md"), parse(p))
	}
	for _, p := range files {
		count(&fi, p, parse(p))
	}
	t.Logf("inline forms: %d; agree with pyxform on %d (both accept %d, both refuse %d); accepted only here %d, refused only here %d",
		in.n, in.bothOK+in.bothRefuse, in.bothOK, in.bothRefuse, in.onlyUs, in.onlyPyxform)
	t.Logf("files: %d with a pyxform outcome; agree on %d (both accept %d, both refuse %d); accepted only here %d, refused only here %d",
		fi.n, fi.bothOK+fi.bothRefuse, fi.bothOK, fi.bothRefuse, fi.onlyUs, fi.onlyPyxform)
}
