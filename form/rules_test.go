package form

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestFormRules covers the rules added for conformance with pyxform and
// the CSV contract: each case is a small form and the problems it must
// produce ("sheet!row: phrase"), or none.
func TestFormRules(t *testing.T) {
	const survey = "| survey |\n| | type | name | label |\n"
	tests := []struct {
		name string
		md   string
		want []string // empty: the form is accepted
	}{
		{"start and end named as the contract columns", survey + "| | start | started | |\n| | end | ended | |\n| | text | q1 | Q1 |\n", nil},
		{"question named like a contract column", survey + "| | text | client | Who |\n| | integer | started | When |\n",
			[]string{"survey!2: the name 'client' is a column", "survey!3: the name 'started' is a column"}},
		{"meta is reserved", survey + "| | text | meta | M |\n", []string{"survey!2: the name 'meta' is reserved"}},
		{"repeat names unique anywhere", survey + "| | begin_group | g1 | G |\n| | begin_repeat | r1 | R |\n| | text | q1 | Q |\n| | end_repeat | | |\n| | end_group | | |\n| | begin_repeat | r1 | R |\n| | text | q2 | Q |\n| | end_repeat | | |\n",
			[]string{"survey!7: repeat name 'r1' is already used at row 3"}},
		{"repeat named like the form", survey + "| | begin_repeat | test_form | R |\n| | text | q1 | Q |\n| | end_repeat | | |\n", []string{"survey!2: repeat name 'test_form' is the name of the form"}},
		{"repeat and question may share a name", survey + "| | text | q1 | Q |\n| | begin_group | g1 | G |\n| | begin_repeat | q1 | R |\n| | text | q2 | Q |\n| | end_repeat | | |\n| | end_group | | |\n", nil},
		{"reference to a name used twice", survey + "| | text | q1 | Q |\n| | begin_group | g1 | G |\n| | begin_group | q1 | G |\n| | text | q2 | ${q1} |\n| | end_group | | |\n| | end_group | | |\n",
			[]string{"survey!5: label refers to ${q1}, but more than one element is named 'q1'"}},
		{"generated repeat_count name taken", "| survey |\n| | type | name | label | repeat_count |\n| | integer | r1_count | N | |\n| | begin_repeat | r1 | R | 2 |\n| | text | q | Q | |\n| | end_repeat | | | |\n",
			[]string{"survey!3: repeat_count of 'r1' needs a calculate named 'r1_count'"}},
		{"trigger lists need commas", "| survey |\n| | type | name | label | calculation | trigger |\n| | text | a | A | | |\n| | text | b | B | | |\n| | dateTime | c | | now() | ${a}${b} |\n| | dateTime | d | | now() | ${a}, ${b} |\n",
			[]string{"survey!4: trigger must be ${name} references"}},
		{"trigger on a hidden question", "| survey |\n| | type | name | label | calculation | trigger |\n| | calculate | one | | 5 + 4 | |\n| | calculate | ts | | now() | ${one} |\n",
			[]string{"survey!3: trigger ${one} of 'ts' names a question that is not shown"}},
		{"calculate needs a calculation or a dynamic default", "| survey |\n| | type | name | label | calculation | default |\n| | calculate | a | | | foo |\n| | calculate | b | | | random() |\n",
			[]string{"survey!2: calculate 'a' has no calculation"}},
		{"audit parameters", "| survey |\n| | type | name | parameters |\n| | audit | audit | location-priority=balanced, location-min-interval=2, location-max-age=1 |\n",
			[]string{"survey!2: audit parameter location-max-age must not be smaller"}},
		{"image app package", "| survey |\n| | type | name | label | parameters |\n| | image | i | I | app=camera |\n| | image | j | J | app=org.example.camera |\n",
			[]string{"survey!2: parameter app: invalid Android package name 'camera'"}},
		{"incremental must be true", "| survey |\n| | type | name | label | parameters |\n| | geotrace | a | A | incremental=false |\n| | geoshape | b | B | incremental=yes |\n",
			[]string{"survey!2: parameter incremental of geotrace must be true"}},
		{"reference-geometry", "| survey |\n| | type | name | label | parameters |\n| | begin_repeat | r1 | R | |\n| | geopoint | p | P | |\n| | end_repeat | | | |\n| | geoshape | a | A | reference-geometry=${r1} |\n| | geoshape | b | B | reference-geometry=nowhere |\n",
			[]string{"survey!6: parameter reference-geometry 'nowhere'"}},
		{"two sources under one instance name", "| survey |\n| | type | name | label | calculation |\n| | xml-external | fruits | | |\n| | calculate | f | | pulldata('fruits', 'a', 'b', 'c') |\n",
			[]string{"'fruits' names two different data sources"}},
		{"media reference in choices", survey + "| | select_one c1 | q1 | Q |\n| choices |\n| | list_name | name | label | audio |\n| | c1 | n1 | N | ${nope} |\n",
			[]string{"choices!2: audio refers to ${nope}"}},
		{"entities: save_to without entities", "| survey |\n| | type | name | label | save_to |\n| | text | q1 | Q | p1 |\n", []string{"survey!2: save_to needs an entities sheet"}},
		{"entities: one entity", "| survey |\n| | type | name | label | save_to |\n| | text | q1 | Q | p1 |\n| entities |\n| | list_name | label |\n| | e1 | ${q1} |\n", nil},
		{"entities: two entities in one container", "| survey |\n| | type | name | label | save_to |\n| | text | q1 | Q | e1#p1 |\n| | text | q2 | Q | e2#p1 |\n| entities |\n| | list_name | label |\n| | e1 | E1 |\n| | e2 | E2 |\n",
			[]string{"entities!3: entity list 'e2' has no container left in '/survey'"}},
		{"entities: save_to from two sibling repeats", "| survey |\n| | type | name | label | save_to |\n| | begin_repeat | r1 | R | |\n| | text | q2 | Q | e1#p1 |\n| | end_repeat | | | |\n| | begin_repeat | r2 | R | |\n| | text | q3 | Q | e1#p2 |\n| | end_repeat | | | |\n| entities |\n| | list_name | label |\n| | e1 | E1 |\n",
			[]string{"survey!6: save_to for entity list 'e1' is in '/survey/r2'"}},
		{"entities: unknown column", "| survey |\n| | type | name | label |\n| | text | q1 | Q |\n| entities |\n| | list_name | label | what |\n| | e1 | E1 | ! |\n",
			[]string{"entities!1: unknown column(s) 'what'"}},
		{"checks: syntax error", survey + "| | integer | age | Age |\n| checks |\n| | name | expression |\n| | adult | ${age} >= |\n| | ok | ${age} > 0 |\n",
			[]string{"checks!2: check 'adult': "}},
		{"standard column: syntax error accepted as pyxform does", "| survey |\n| | type | name | label | relevant |\n| | integer | age | Age | |\n| | text | q | Q | ${age} >= |\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, fe := parseMD(t, tt.md)
			if len(tt.want) == 0 {
				if fe != nil {
					t.Fatalf("refused:\n%v", fe)
				}
				return
			}
			if fe == nil {
				t.Fatalf("accepted, want %q", tt.want)
			}
			for _, w := range tt.want {
				found := false
				for _, p := range fe.Problems {
					if strings.Contains(p.String(), w) {
						found = true
					}
				}
				if !found {
					t.Errorf("no problem %q in:\n%v", w, fe)
				}
			}
			if len(fe.Problems) != len(tt.want) {
				t.Errorf("%d problems, want %d:\n%v", len(fe.Problems), len(tt.want), fe)
			}
		})
	}
}

// TestFormExpr checks that expressions are parsed once at load and served
// from the form, for compiled forms and forms read back from their
// definition alike.
func TestFormExpr(t *testing.T) {
	md := "| survey |\n| | type | name | label | relevant | constraint |\n| | integer | age | Age | | . > 0 |\n| | text | why | Why | ${age} >= | |\n" +
		"| checks |\n| | name | expression |\n| | adult | ${age} >= 18 |\n"
	f, fe := parseMD(t, md)
	if fe != nil {
		t.Fatal(fe)
	}
	def, err := f.Definition()
	if err != nil {
		t.Fatal(err)
	}
	back, err := FromDefinition(def)
	if err != nil {
		t.Fatal(err)
	}
	for _, form := range []*Form{f, back} {
		e1, err := form.Expr("${age} >= 18")
		if err != nil {
			t.Fatal(err)
		}
		e2, _ := form.Expr("${age} >= 18")
		if e1 != e2 {
			t.Error("the same source gave two parses: not cached")
		}
		if got := e1.Refs(); len(got) != 1 || got[0] != "age" {
			t.Errorf("Refs() = %v, want [age]", got)
		}
		if _, err := form.Expr("${age} >="); err == nil {
			t.Error("the broken relevant parsed without error")
		}
		if e, err := form.Expr(". > 0"); err != nil || e == nil {
			t.Errorf("constraint: %v", err)
		}
	}
}

// TestReadXLS reads two legacy workbooks of pyxform's test fixtures
// (testdata/xlsform, BSD-2, see LICENSE.pyxform there). The expected cells
// were read with another BIFF reader.
func TestReadXLS(t *testing.T) {
	data, err := os.ReadFile("testdata/xlsform/text_and_integer.xls")
	if err != nil {
		t.Fatal(err)
	}
	wb, err := ReadWorkbook("text_and_integer.xls", data)
	if err != nil {
		t.Fatal(err)
	}
	s := wb.Sheet("survey")
	if s == nil {
		t.Fatalf("no survey sheet in %v", wb.Order)
	}
	if want := []string{"type", "name", "label:english"}; !reflect.DeepEqual(s.Header, want) {
		t.Errorf("header = %q, want %q", s.Header, want)
	}
	want := []Row{
		{Num: 2, Cells: map[string]string{"type": "text", "name": "your_name", "label:english": "What is your name?"}},
		{Num: 3, Cells: map[string]string{"type": "integer", "name": "your_age", "label:english": "How many years old are you?"}},
	}
	if !reflect.DeepEqual(s.Rows, want) {
		t.Errorf("rows = %v, want %v", s.Rows, want)
	}

	f, err := ParseFile("testdata/xlsform/specify_other.xls")
	if err != nil {
		t.Fatal(err)
	}
	q := f.Question("sex")
	if q == nil || q.Type != "select_one" || q.ListName != "sexes" || !q.OrOther || q.Label.In("") != "What sex are you?" && q.Label.In("English") != "What sex are you?" {
		t.Errorf("sex = %+v", q)
	}
	var names []string
	for _, c := range f.Choices["sexes"] {
		names = append(names, c.Name)
	}
	if want := []string{"male", "female", "other"}; !reflect.DeepEqual(names, want) {
		t.Errorf("choices = %v, want %v", names, want)
	}
}
