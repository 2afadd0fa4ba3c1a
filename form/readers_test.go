package form

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// cell is an expected cell: sheet, row number, header and value.
type cell struct {
	sheet  string
	row    int
	header string
	value  string
}

// checkCells asserts each expected cell, and that absent ones ("" value)
// are absent.
func checkCells(t *testing.T, wb *Workbook, want []cell) {
	t.Helper()
	for _, w := range want {
		s := wb.Sheet(w.sheet)
		if s == nil {
			t.Errorf("no sheet %q (have %v)", w.sheet, wb.Order)
			continue
		}
		var found *Row
		for i := range s.Rows {
			if s.Rows[i].Num == w.row {
				found = &s.Rows[i]
			}
		}
		if found == nil {
			if w.value != "" {
				t.Errorf("%s!%d: no such row", w.sheet, w.row)
			}
			continue
		}
		got, ok := found.Cells[w.header]
		if w.value == "" && ok {
			t.Errorf("%s!%d %s = %q, want absent", w.sheet, w.row, w.header, got)
		}
		if w.value != "" && got != w.value {
			t.Errorf("%s!%d %s = %q, want %q", w.sheet, w.row, w.header, got, w.value)
		}
	}
}

func rowNums(s *Sheet) []int {
	var out []int
	for _, r := range s.Rows {
		out = append(out, r.Num)
	}
	return out
}

func TestReadMarkdown(t *testing.T) {
	tests := []struct {
		name    string
		md      string
		order   []string
		headers map[string][]string
		nums    map[string][]int
		cells   []cell
	}{
		{
			name: "sheets, header row and row numbers",
			md: "| survey |\n" +
				"| | type | name | label |\n" +
				"| | text | q1 | Q1 |\n" +
				"| | integer | q2 | Q2 |\n" +
				"| choices |\n" +
				"| | list_name | name | label |\n" +
				"| | yn | yes | Yes |\n",
			order:   []string{"survey", "choices"},
			headers: map[string][]string{"survey": {"type", "name", "label"}},
			nums:    map[string][]int{"survey": {2, 3}, "choices": {2}},
			cells:   []cell{{"survey", 3, "type", "integer"}, {"choices", 2, "name", "yes"}},
		},
		{
			name: "prose, comments, escaped pipes and separators",
			md: "Some prose | with a pipe.\n" +
				"# a comment line\n" +
				"| survey |\n" +
				"|---|---|\n" +
				"| | type | name | label |\n" +
				"   # an indented comment\n" +
				"| | note | n1 | a \\| b | # trailing comment\n" +
				"\n" +
				"More prose.\n" +
				"| | text | q1 | Issue #5 |\n",
			order: []string{"survey"},
			nums:  map[string][]int{"survey": {2, 3}},
			cells: []cell{{"survey", 2, "label", "a | b"}, {"survey", 3, "label", "Issue #5"}},
		},
		{
			name: "empty rows are dropped and not counted, empty cells are absent",
			md: "| survey |\n" +
				"| | type | name | label | hint |\n" +
				"| | | | | |\n" +
				"| | text | q1 | | |\n" +
				"| | text | q2 | Q2 | |\n",
			nums:  map[string][]int{"survey": {2, 3}},
			cells: []cell{{"survey", 2, "label", ""}, {"survey", 3, "name", "q2"}},
		},
		{
			name:  "sheet names are case-insensitive and a BOM is accepted",
			md:    "\uFEFF| SURVEY |\n| | TYPE | NAME |\n| | text | q |\n",
			order: []string{"survey"},
			cells: []cell{{"Survey", 2, "NAME", "q"}},
		},
		{
			name:  "a sheet name alone before another sheet is dropped, as pyxform does",
			md:    "| settings |\n| survey |\n| | type | name |\n| | text | q |\n",
			order: []string{"survey"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wb, err := ReadWorkbook("form.md", []byte(tt.md))
			if err != nil {
				t.Fatal(err)
			}
			if tt.order != nil && !reflect.DeepEqual(wb.Order, tt.order) {
				t.Errorf("order = %v, want %v", wb.Order, tt.order)
			}
			for s, h := range tt.headers {
				if got := wb.Sheet(s).Header; !reflect.DeepEqual(got, h) {
					t.Errorf("%s header = %q, want %q", s, got, h)
				}
			}
			for s, n := range tt.nums {
				if got := rowNums(wb.Sheet(s)); !reflect.DeepEqual(got, n) {
					t.Errorf("%s rows = %v, want %v", s, got, n)
				}
			}
			checkCells(t, wb, tt.cells)
		})
	}
}

func TestReadCSV(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		csv   string
		nums  map[string][]int
		cells []cell
	}{
		{
			name: "pyxform single-file layout with BOM and quotes",
			file: "form.csv",
			csv: "\uFEFF\"survey\",,,\n" +
				",\"type\",\"name\",\"label:english\"\n" +
				",\"select one from yes_no\",\"good_day\",\"have you had a good day, today?\"\n" +
				",,,\n" +
				",text,q2,\" padded \"\n" +
				"\"choices\",,,\n" +
				",\"list name\",\"name\",\"label:english\"\n" +
				",\"yes_no\",\"yes\",\"yes\"\n",
			nums: map[string][]int{"survey": {2, 3}, "choices": {2}},
			cells: []cell{
				{"survey", 2, "label:english", "have you had a good day, today?"},
				{"survey", 3, "label:english", "padded"},
				{"choices", 2, "list name", "yes_no"},
			},
		},
		{
			name:  "a lone survey sheet with a type header",
			file:  "survey.csv",
			csv:   "type,name,label\ntext,q1,Q1\n\ninteger,q2,Q2\n",
			nums:  map[string][]int{"survey": {2, 4}},
			cells: []cell{{"survey", 4, "name", "q2"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wb, err := ReadWorkbook(tt.file, []byte(tt.csv))
			if err != nil {
				t.Fatal(err)
			}
			for s, n := range tt.nums {
				if got := rowNums(wb.Sheet(s)); !reflect.DeepEqual(got, n) {
					t.Errorf("%s rows = %v, want %v", s, got, n)
				}
			}
			checkCells(t, wb, tt.cells)
		})
	}
}

var bundleFiles = map[string]string{
	"survey.csv":   "\uFEFFtype,name,label\nselect_one yn,q1,Q1\n,,\ntext,q2,Q2\n",
	"choices.csv":  "list_name,name,label\nyn,yes,Yes\nyn,no,No\n",
	"settings.csv": "form_id,version\nbundle_form,7\n",
	"checks.csv":   "name,expression\nq1_set,${q1} != ''\n",
}

func TestCSVBundle(t *testing.T) {
	dir := t.TempDir()
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	for name, body := range bundleFiles {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create("myform/" + name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	zipPath := filepath.Join(t.TempDir(), "bundle.zip")
	if err := os.WriteFile(zipPath, zbuf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{dir, zipPath} {
		t.Run(filepath.Ext(path), func(t *testing.T) {
			f, err := ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if f.ID != "bundle_form" || f.Version != "7" {
				t.Errorf("id %q version %q, want bundle_form 7", f.ID, f.Version)
			}
			if q := f.Question("q2"); q == nil || q.Row != 4 {
				t.Errorf("q2 = %+v, want row 4 (the blank line 3 keeps its number)", q)
			}
			if len(f.Choices["yn"]) != 2 || len(f.Checks) != 1 {
				t.Errorf("choices %v checks %v", f.Choices, f.Checks)
			}
		})
	}
}

func TestReadBadInput(t *testing.T) {
	tests := []struct {
		name, file string
		data       []byte
		want       string // in the one-line-per-problem error
	}{
		{"bad UTF-8 in markdown", "f.md", []byte("| survey |\n| | type | name |\n| | text | q\xff |\n"), "line 3: invalid UTF-8"},
		{"bad UTF-8 in csv", "f.csv", []byte("survey,,\n,type,name\n,text,q\xfe\n"), "line 3: invalid UTF-8"},
		{"repeated header", "f.md", []byte("| survey |\n| | type | name | name |\n| | text | a | b |\n"), "survey!1: column header 'name' appears more than once"},
		{"not a zip", "f.zip", []byte("plain text"), "cannot read the .zip"},
		{"not an xlsx", "f.xlsx", []byte("plain text"), "cannot read the .xlsx"},
		{"not an xls", "f.xls", []byte{0xd0, 0xcf, 0x11, 0xe0}, "cannot read the .xls"},
		{"unknown extension", "f.txt", []byte("x"), "unsupported file type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadWorkbook(tt.file, tt.data)
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// xlsxFixture writes a workbook with excelize: sheet name → rows of cells
// (nil is an empty cell, a nil row an empty row).
func xlsxFixture(t *testing.T, order []string, sheets map[string][][]any) []byte {
	t.Helper()
	xf := excelize.NewFile()
	defer xf.Close()
	for i, name := range order {
		if i == 0 {
			if err := xf.SetSheetName(xf.GetSheetName(0), name); err != nil {
				t.Fatal(err)
			}
		} else if _, err := xf.NewSheet(name); err != nil {
			t.Fatal(err)
		}
		for r, row := range sheets[name] {
			for c, v := range row {
				if v == nil {
					continue
				}
				ref, _ := excelize.CoordinatesToCellName(c+1, r+1)
				if err := xf.SetCellValue(name, ref, v); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := xf.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadXLSX(t *testing.T) {
	data := xlsxFixture(t, []string{"SURVEY", "Choices", "settings", "notes"}, map[string][][]any{
		"SURVEY": {
			{"type", "name", "label", "required", " guidance   hint "},
			{"select_one yn", "q1", "  Q1  ", true, nil},
			nil, // an empty row: skipped, but row 4 stays row 4
			{"integer", "q2", "Q2\u00a0two", false, "h"},
			{nil, nil, nil, nil, nil},
			{"decimal", "q3", 1.5, nil, nil},
		},
		"Choices":  {{"list_name", "name", "label"}, {"yn", 1, "Yes"}, {"yn", 0, "No"}},
		"settings": {{"form_id", "version"}, {"x_form", 2019}},
		"notes":    {{"anything"}},
	})
	wb, err := ReadWorkbook("form.xlsx", data)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"survey", "choices", "settings", "notes"}; !reflect.DeepEqual(wb.Order, want) {
		t.Errorf("order = %v, want %v", wb.Order, want)
	}
	if got := rowNums(wb.Sheet("survey")); !reflect.DeepEqual(got, []int{2, 4, 6}) {
		t.Errorf("survey rows = %v, want [2 4 6]", got)
	}
	if got := wb.Sheet("survey").Header[4]; got != "guidance hint" {
		t.Errorf("header = %q, want trimmed and squeezed 'guidance hint'", got)
	}
	checkCells(t, wb, []cell{
		{"survey", 2, "label", "Q1"},
		{"survey", 2, "required", "TRUE"},
		{"survey", 4, "required", "FALSE"},
		{"survey", 4, "label", "Q2 two"},
		{"survey", 6, "label", "1.5"},
		{"choices", 2, "name", "1"},
		{"settings", 2, "version", "2019"},
	})

	f, err := Parse("form.xlsx", data)
	if err != nil {
		t.Fatal(err)
	}
	if f.ID != "x_form" || f.Version != "2019" {
		t.Errorf("id %q version %q", f.ID, f.Version)
	}
	if q := f.Question("q1"); !q.Required || q.Row != 2 {
		t.Errorf("q1 = %+v, want required at row 2", q)
	}
	if q := f.Question("q2"); q.Required || q.Row != 4 || q.Guidance[""] != "h" {
		t.Errorf("q2 = %+v, want not required, row 4, guidance h", q)
	}
}
