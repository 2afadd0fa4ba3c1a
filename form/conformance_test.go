package form_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/govsurvey/govsurvey/form"
)

// The conformance test runs every form of pyxform 4.5.0's own test suite
// (../shared/xlsform-corpus, see its README) through form.Parse and
// form.ParseFile — what `govsurvey form check` runs — and compares the
// outcome with pyxform's: the same forms accepted and refused, and for a
// refused form a problem on the row pyxform names. Any difference fails the
// test unless it is listed in deliberateDifferences with its reason.

// deliberateDifferences are the forms on which govsurvey decides otherwise
// than pyxform on purpose, keyed by case id (printed by the test), each with
// its reason. Every entry is also listed in README.md, "XLSForm conformance".
var deliberateDifferences = map[string]string{
	// A response is one CSV row with one column per question name
	// (CONTRACTS.md §2), so two answer-holding questions may not share a
	// name even in different groups; pyxform only requires names unique
	// among siblings.
	"jsonl:tests/test_fields.py::TestQuestionParsing::test_names__question_same_as_question_in_different_group_context__ok#1":  uniqueFieldNames,
	"jsonl:tests/test_fields.py::TestQuestionParsing::test_names__question_same_as_question_in_different_repeat_context__ok#1": uniqueFieldNames,
	"jsonl:tests/test_group.py::TestGroupParsing::test_names__group_same_as_group_in_different_group_context__ok#1":            uniqueFieldNames,
	"jsonl:tests/test_group.py::TestGroupParsing::test_names__group_same_as_group_in_different_repeat_context__ok#1":           uniqueFieldNames,
	"jsonl:tests/test_external_instances.py::ExternalInstanceTests::test_can__use_same_external_csv_id_with_mixed_types#1":     uniqueFieldNames,
	"inline/019_names__names_question_same_as_question_in_different_group_context_ok.md":                                       uniqueFieldNames,

	// The file name is not the form's name here: pyxform makes it the XML
	// root and refuses "bad@filename.md"; govsurvey takes the form id from
	// settings and accepts any file name.
	"jsonl:tests/test_settings.py::TestSettings::test_name__from_file__invalid_characters__error#1": "a file name that is not an XML name is accepted: it is not the form's name here",

	// An invalid settings name is reported on the row that holds it (row
	// 2, under the header); pyxform says row 1.
	"jsonl:tests/test_settings.py::TestSettings::test_name__from_sheet__invalid_characters__error#1": settingsRow,
	"inline/027_names__name_from_sheet_invalid_characters_error.md":                                  settingsRow,

	// Row 19999 of this sheet holds an unknown type far below the form;
	// pyxform's .xls reader stops before it, govsurvey reads every row and
	// reports it.
	"files/bug_example_xls/extra_columns.xls": "every row of an .xls sheet is read: the unknown type on row 19999 is reported",
}

const (
	uniqueFieldNames = "question names are unique in the whole form: a response has one column per name"
	settingsRow      = "the settings problem names the row holding the value (2), not the header (1)"
)

// corpusCase is one form of the corpus with pyxform's outcome for it.
type corpusCase struct {
	id   string // how the test names it: corpus file, or jsonl test and call
	file string // file name given to form.Parse; its extension picks the reader
	data []byte // the form; nil for a file read with form.ParseFile
	path string // the file, when data is nil

	pyxformOK    bool
	eitherWay    bool   // ODK Validate (not pyxform) refuses it; either outcome agrees
	pyxformError string // pyxform's error message
}

// pyxformRow is the spreadsheet row pyxform's error names ("[row : 7]"), or 0.
func (c corpusCase) pyxformRow() int {
	m := rePyxformRow.FindStringSubmatch(c.pyxformError)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// corpusDir is pyxform's conformance corpus beside the repository
// (shared/ sits next to the main work tree, and next to CI's clone).
const corpusDir = "../../shared/xlsform-corpus"

var rePyxformRow = regexp.MustCompile(`\[row\s*:\s*(\d+)\]`)

// corpusPath finds the corpus, skipping the test when it is absent, except
// in CI, where a missing corpus must not pass silently.
func corpusPath(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(corpusDir, "all_inline_test_forms.jsonl")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("XLSForm corpus missing in CI: %v", err)
		}
		t.Skipf("XLSForm corpus not present: %v", err)
	}
	return corpusDir
}

type pyxformActual struct {
	OK    json.RawMessage `json:"ok"` // a boolean, or "True"/"False" in the files' expect.json
	XForm string          `json:"xform"`
	Error string          `json:"error"`
}

func (a pyxformActual) accepted() bool {
	if a.Error != "" {
		return false
	}
	s := strings.Trim(string(a.OK), `"`)
	return strings.EqualFold(s, "true") || a.XForm != ""
}

// jsonlCases reads all_inline_test_forms.jsonl: every form pyxform's tests
// convert. The few given as Python dicts (ss_structure) instead of markdown
// are written out in pyxform's one-file CSV layout, which keeps multi-line
// cells.
func jsonlCases(t *testing.T, dir string) []corpusCase {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "all_inline_test_forms.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var rec struct {
			Test    string                     `json:"test"`
			Call    int                        `json:"call"`
			MD      *string                    `json:"md"`
			SS      json.RawMessage            `json:"ss_structure"`
			Asserts map[string]json.RawMessage `json:"asserts"`
			Actual  pyxformActual              `json:"pyxform_actual"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("all_inline_test_forms.jsonl: %v", err)
		}
		c := corpusCase{
			id:           fmt.Sprintf("jsonl:%s#%d", rec.Test, rec.Call),
			pyxformOK:    rec.Actual.accepted(),
			pyxformError: rec.Actual.Error,
		}
		_, c.eitherWay = rec.Asserts["odk_validate_error__contains"]
		// pyxform's tests name the form (the XForm root) "test_name"
		// unless they pass name=; Parse takes it from the file name.
		formName := "test_name"
		if raw, ok := rec.Asserts["name"]; ok {
			_ = json.Unmarshal(raw, &formName)
		}
		switch {
		case rec.MD != nil:
			c.file, c.data = formName+".md", []byte(*rec.MD)
		default:
			c.file, c.data = formName+".csv", ssToCSV(t, rec.SS)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// ssToCSV writes a pyxform ss_structure ({"survey": [{"type": …}, …], …})
// as a one-file CSV workbook: the sheet name in the first column, then the
// header, then the rows.
func ssToCSV(t *testing.T, raw json.RawMessage) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("ss_structure: not an object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		sheet := tok.(string)
		var rows []orderedRow
		if err := dec.Decode(&rows); err != nil {
			t.Fatalf("ss_structure %s: %v", sheet, err)
		}
		var header []string
		seen := map[string]bool{}
		for _, r := range rows {
			for _, k := range r.keys {
				if !seen[k] {
					seen[k] = true
					header = append(header, k)
				}
			}
		}
		_ = w.Write([]string{sheet})
		_ = w.Write(append([]string{""}, header...))
		for _, r := range rows {
			rec := []string{""}
			for _, h := range header {
				rec = append(rec, r.values[h])
			}
			_ = w.Write(rec)
		}
	}
	w.Flush()
	return buf.Bytes()
}

// orderedRow is a JSON object read with its keys in order.
type orderedRow struct {
	keys   []string
	values map[string]string
}

func (r *orderedRow) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		return err
	}
	r.values = map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		k := tok.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return err
		}
		r.keys = append(r.keys, k)
		r.values[k] = fmt.Sprint(v)
	}
	return nil
}

// expectCases reads forms kept as files beside an X.expect.json.
func expectCases(t *testing.T, dir, sub string, files []string) []corpusCase {
	t.Helper()
	var out []corpusCase
	for _, p := range files {
		expectPath := p + ".expect.json"
		if strings.HasSuffix(p, ".md") && sub == "inline" {
			expectPath = strings.TrimSuffix(p, ".md") + ".expect.json"
		}
		b, err := os.ReadFile(expectPath)
		if err != nil {
			continue // a resource of another form (fruits.csv, widgets.xml)
		}
		var e struct {
			Assertions map[string]json.RawMessage `json:"test_assertions"`
			Actual     pyxformActual              `json:"pyxform_actual"`
			Call       struct {
				FormName string `json:"form_name"`
			} `json:"convert_call"`
		}
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("%s: %v", expectPath, err)
		}
		rel, _ := filepath.Rel(dir, p)
		c := corpusCase{
			id:           filepath.ToSlash(rel),
			file:         filepath.Base(p),
			path:         p,
			pyxformOK:    e.Actual.accepted(),
			pyxformError: e.Actual.Error,
		}
		_, c.eitherWay = e.Assertions["odk_validate_error__contains"]
		if sub == "inline" {
			// pyxform's tests name the form (its root) themselves; Parse
			// takes that name from the file name.
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			name := e.Call.FormName
			if name == "" {
				name = "test_name"
			}
			c.file, c.data = name+".md", data
		}
		out = append(out, c)
	}
	return out
}

func corpusCases(t *testing.T) (jsonl, inline, files []corpusCase) {
	dir := corpusPath(t)
	jsonl = jsonlCases(t, dir)
	md, err := filepath.Glob(filepath.Join(dir, "inline", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	inline = expectCases(t, dir, "inline", md)
	var paths []string
	err = filepath.WalkDir(filepath.Join(dir, "files"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !strings.HasSuffix(p, ".expect.json") {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	files = expectCases(t, dir, "files", paths)
	return jsonl, inline, files
}

// outcome is what govsurvey made of one case.
type outcome struct {
	accepted bool
	problems []form.Problem
	err      error
}

func runCase(c corpusCase) (o outcome) {
	defer func() {
		if r := recover(); r != nil {
			o = outcome{err: fmt.Errorf("panic: %v", r)}
		}
	}()
	var err error
	if c.data != nil {
		_, err = form.Parse(c.file, c.data)
	} else {
		_, err = form.ParseFile(c.path)
	}
	if err == nil {
		return outcome{accepted: true}
	}
	var fe *form.Error
	if !errors.As(err, &fe) || len(fe.Problems) == 0 {
		return outcome{err: fmt.Errorf("refusal is not a *form.Error with problems: %v", err)}
	}
	return outcome{problems: fe.Problems, err: err}
}

// difference explains how govsurvey's outcome differs from pyxform's, or
// returns "" when they agree.
func difference(c corpusCase, o outcome) string {
	switch {
	case o.err != nil && !o.accepted && o.problems == nil:
		return o.err.Error()
	case c.eitherWay:
		return ""
	case o.accepted && !c.pyxformOK:
		return "accepted here, refused by pyxform: " + firstLine(c.pyxformError)
	case !o.accepted && c.pyxformOK:
		return "refused here, accepted by pyxform:\n" + o.err.Error()
	case !o.accepted:
		row := c.pyxformRow()
		if row == 0 {
			return ""
		}
		for _, p := range o.problems {
			if p.Row == row {
				return ""
			}
		}
		return fmt.Sprintf("pyxform names row %d, no problem here does: %s\nours:\n%v", row, firstLine(c.pyxformError), o.err)
	}
	return ""
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// TestConformance is the accept/reject (and row) agreement with pyxform
// over the whole corpus.
func TestConformance(t *testing.T) {
	jsonl, inline, files := corpusCases(t)
	used := map[string]bool{}
	for _, set := range []struct {
		name  string
		cases []corpusCase
	}{
		{"all_inline_test_forms.jsonl", jsonl},
		{"inline/", inline},
		{"files/", files},
	} {
		var agree, rowsChecked, allowed int
		for _, c := range set.cases {
			o := runCase(c)
			diff := difference(c, o)
			if c.pyxformRow() > 0 && !c.pyxformOK && !o.accepted {
				rowsChecked++
			}
			if diff == "" {
				agree++
				continue
			}
			if reason, ok := deliberateDifferences[c.id]; ok {
				used[c.id] = true
				allowed++
				if testing.Verbose() {
					t.Logf("deliberate difference %s (%s)", c.id, reason)
				}
				continue
			}
			t.Errorf("%s: %s", c.id, diff)
		}
		t.Logf("%s: %d forms; agree with pyxform on %d (%.1f%%), of which %d refusals checked for pyxform's row; %d deliberate differences",
			set.name, len(set.cases), agree, 100*float64(agree)/float64(max(1, len(set.cases))), rowsChecked, allowed)
	}
	for id := range deliberateDifferences {
		if !used[id] {
			t.Errorf("deliberateDifferences lists %s, which now agrees with pyxform (or is no longer in the corpus): remove it", id)
		}
	}
}
