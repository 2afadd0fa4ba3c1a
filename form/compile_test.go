package form

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func parseMD(t *testing.T, md string) (*Form, *Error) {
	t.Helper()
	f, err := Parse("test_form.md", []byte(md))
	if err == nil {
		return f, nil
	}
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("error is %T %v, want *Error", err, err)
	}
	return nil, fe
}

// TestRefusedWithEveryProblem is the contract of CONTRACTS.md §1: a form
// that cannot be used is refused whole, every problem named by sheet!row.
// The rows can be read off testdata/three_problems.md: the header line of
// the survey table is row 1.
func TestRefusedWithEveryProblem(t *testing.T) {
	data, err := os.ReadFile("testdata/three_problems.md")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse("three_problems.md", data)
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want *Error", err)
	}
	want := []struct {
		at, phrase string
	}{
		{"survey!3: ", "unknown choice list 'edu'"},
		{"survey!4: ", "duplicate name 'q1'"},
		{"survey!5: ", "unmatched end_group"},
	}
	if len(fe.Problems) != len(want) {
		t.Fatalf("problems:\n%v\nwant %d", err, len(want))
	}
	for i, w := range want {
		got := fe.Problems[i].String()
		if !strings.HasPrefix(got, w.at) || !strings.Contains(got, w.phrase) {
			t.Errorf("problem %d = %q, want %q…%q", i, got, w.at, w.phrase)
		}
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "three_problems.md: survey!3: ") {
		t.Errorf("Error() = %q, want one line per problem prefixed by the file", err.Error())
	}
}

func TestCompileProblems(t *testing.T) {
	tests := []struct {
		name string
		md   string
		want []string // each a problem, as "sheet!row: phrase"
	}{
		{
			name: "missing survey sheet",
			md:   "| surve |\n| | type | name | label |\n| | text | q | Q |\n| settings |\n| | form_title |\n| | T |\n",
			want: []string{"no 'survey' sheet (found 'surve'"},
		},
		{
			name: "no type column",
			md:   "| survey |\n| | name | label |\n| | q | Q |\n",
			want: []string{"survey!1: the survey sheet has no 'type' column"},
		},
		{
			name: "row with no type",
			md:   "| survey |\n| | type | name | label |\n| | | q1 | Q1 |\n",
			want: []string{"survey!2: row has no type"},
		},
		{
			name: "unknown type",
			md:   "| survey |\n| | type | name | label |\n| | begin dancing | q1 | Q1 |\n",
			want: []string{"survey!2: unknown question type 'begin dancing'"},
		},
		{
			name: "select without list name",
			md:   "| survey |\n| | type | name | label |\n| | select_one | q1 | Q1 |\n",
			want: []string{"survey!2: type 'select_one' needs a choice list name"},
		},
		{
			name: "unknown choice list without choices sheet",
			md:   "| survey |\n| | type | name | label |\n| | select_multiple colors | q1 | Q1 |\n",
			want: []string{"survey!2: unknown choice list 'colors' (the workbook has no choices sheet)"},
		},
		{
			name: "invalid names, and references to them are not double-reported",
			md:   "| survey |\n| | type | name | label |\n| | text | 1st | One |\n| | text | a b | Two |\n| | text | ${q1x} | Three |\n",
			want: []string{"survey!2: invalid name '1st'", "survey!3: invalid name 'a b'", "survey!4: invalid name '${q1x}'"},
		},
		{
			name: "unclosed group",
			md:   "| survey |\n| | type | name | label |\n| | begin_group | g1 | G |\n| | text | q1 | Q1 |\n",
			want: []string{"survey!2: unclosed begin_group 'g1'"},
		},
		{
			name: "end_repeat closing a group",
			md:   "| survey |\n| | type | name | label |\n| | begin group | g1 | G |\n| | text | q1 | Q1 |\n| | end repeat | | |\n",
			want: []string{"survey!4: unmatched end_repeat", "survey!2: unclosed begin_group 'g1'"},
		},
		{
			name: "same field name in different groups",
			md: "| survey |\n| | type | name | label |\n| | text | q1 | Q1 |\n| | begin_group | g | G |\n" +
				"| | text | q1 | Q1 again |\n| | end_group | | |\n",
			want: []string{"survey!4: field name 'q1' is already used at row 2"},
		},
		{
			name: "duplicate choice and choice without name",
			md: "| survey |\n| | type | name | label |\n| | select_one l | q | Q |\n" +
				"| choices |\n| | list_name | name | label |\n| | l | a | A |\n| | l | a | A again |\n| | l | | Nameless |\n",
			want: []string{"choices!3: duplicate choice name 'a' in list 'l' (first at row 2)", "choices!4: choice in list 'l' has no name"},
		},
		{
			name: "empty choice list referenced",
			md: "| survey |\n| | type | name | label |\n| | select_one l | q | Q |\n" +
				"| choices |\n| | list_name | name | label |\n| | l | | Nameless |\n",
			want: []string{"survey!2: choice list 'l' has no usable choices", "choices!2: choice in list 'l' has no name"},
		},
		{
			name: "references naming no question",
			md: "| survey |\n| | type | name | label | relevant | constraint | calculation | required | default |\n" +
				"| | text | q1 | Hello ${nobody} | ${q9} = 1 | . > ${q1} | | ${q8} | |\n" +
				"| | calculate | c | | | | ${q7} * 2 | | |\n" +
				"| | text | q2 | Q2 | | | | | ${q6 |\n" +
				"| checks |\n| | name | expression | message |\n| | chk | ${q5} = 1 | see ${q4} |\n",
			want: []string{
				"survey!2: label refers to ${nobody}", "survey!2: relevant refers to ${q9}", "survey!2: required refers to ${q8}",
				"survey!3: calculation refers to ${q7}", "survey!4: default has a reference without its closing '}'",
				"checks!2: expression refers to ${q5}", "checks!2: message refers to ${q4}",
			},
		},
		{
			name: "checks sheet rows",
			md: "| survey |\n| | type | name | label |\n| | integer | a | A |\n" +
				"| checks |\n| | name | expression |\n| | | ${a} > 1 |\n| | c1 | |\n| | c2 | ${a} > 2 |\n| | c2 | ${a} > 3 |\n",
			want: []string{"checks!2: check has no name", "checks!3: check 'c1' has no expression", "checks!5: duplicate check name 'c2' (first at row 4)"},
		},
		{
			name: "invalid classification",
			md:   "| survey |\n| | type | name | label | classification |\n| | text | q | Q | secret |\n",
			want: []string{"survey!2: invalid classification 'secret'"},
		},
		{
			name: "calculate without calculation, question without label",
			md:   "| survey |\n| | type | name | label |\n| | calculate | c | |\n| | integer | n | |\n",
			want: []string{"survey!2: calculate 'c' has no calculation", "survey!3: integer 'n' has no label or hint"},
		},
		{
			name: "aliased headers naming one column",
			md:   "| survey |\n| | type | name | value | label |\n| | text | q | q | Q |\n",
			want: []string{"survey!1: columns 'name' and 'value' are the same column"},
		},
		{
			name: "range parameters",
			md:   "| survey |\n| | type | name | label | parameters |\n| | range | r1 | R | start=0 end=10 step=0 |\n| | range | r2 | R | start=x |\n| | range | r3 | R | step |\n",
			want: []string{"survey!2: range parameter step must not be 0", "survey!3: range parameter start must be a number", "survey!4: parameters must look like"},
		},
		{
			name: "space in a select_multiple choice name",
			md: "| survey |\n| | type | name | label |\n| | select_multiple l | q | Q |\n" +
				"| choices |\n| | list_name | name | label |\n| | l | a b | AB |\n",
			want: []string{"choices!2: choice name 'a b' in list 'l' has a space"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, fe := parseMD(t, tt.md)
			if fe == nil {
				t.Fatalf("accepted, want problems %q", tt.want)
			}
			var got []string
			for _, p := range fe.Problems {
				got = append(got, p.String())
			}
			if len(got) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for _, w := range tt.want {
				found := false
				for _, g := range got {
					if strings.HasPrefix(g, w) || strings.Contains(g, w) && !strings.Contains(w, "!") {
						found = true
					}
				}
				if !found {
					t.Errorf("no problem %q in:\n%s", w, strings.Join(got, "\n"))
				}
			}
		})
	}
}

func TestCompileSmallForm(t *testing.T) {
	data, err := os.ReadFile("testdata/small.md")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse("small.md", data)
	if err != nil {
		t.Fatal(err)
	}
	if f.ID != "small" || f.Title != "Small form" || f.Version != "3" || f.DefaultLanguage != "English (en)" {
		t.Errorf("id %q title %q version %q default %q", f.ID, f.Title, f.Version, f.DefaultLanguage)
	}
	if want := []string{"English (en)", "中文 (zh)"}; !reflect.DeepEqual(f.Languages, want) {
		t.Errorf("languages = %q, want %q", f.Languages, want)
	}
	var names []string
	for _, q := range f.Fields() {
		names = append(names, q.Path)
	}
	if want := []string{"about/adult", "about/age", "colors", "colors_other", "where", "device"}; !reflect.DeepEqual(names, want) {
		t.Errorf("fields = %q, want %q", names, want)
	}
	adult, age := f.Question("adult"), f.Question("age")
	if !adult.Required || adult.Label["中文 (zh)"] != "成年？" || adult.Hint["English (en)"] != "Over 18" || adult.Row != 4 {
		t.Errorf("adult = %+v", adult)
	}
	if !age.Required || age.Relevant != "${adult} = 'yes'" || age.ConstraintMessage["English (en)"] != "Too old" {
		t.Errorf("age = %+v", age)
	}
	// Classification: the group's personal is inherited, a question's own
	// value wins, identifying metadata is personal, the rest internal.
	for name, want := range map[string]string{"about": "personal", "adult": "personal", "age": "public", "colors": "internal", "device": "personal"} {
		if got := f.Question(name).Classification; got != want {
			t.Errorf("%s classification = %q, want %q", name, got, want)
		}
	}
	colors := f.Question("colors")
	if colors.Type != "select_multiple" || colors.ListName != "color" || !colors.OrOther || colors.Required || colors.RequiredIf != "${adult} = 'yes'" {
		t.Errorf("colors = %+v", colors)
	}
	if _, ok := f.Choice("color", "other"); !ok {
		t.Errorf("or_other did not add an 'other' choice: %+v", f.Choices["color"])
	}
	if other := f.Question("colors_other"); other == nil || other.Relevant != "selected(${colors}, 'other')" {
		t.Errorf("colors_other = %+v", other)
	}
	note := f.Question("generated_note_name_8")
	if note == nil || note.Label["English (en)"] != "Thanks | bye" {
		t.Errorf("note = %+v", note)
	}
	if !reflect.DeepEqual(f.Unsupported, []string{"geopoint"}) {
		t.Errorf("unsupported = %q", f.Unsupported)
	}
	if len(f.Checks) != 1 || f.Checks[0].Name != "age_adult" || f.Checks[0].Row != 2 || f.Checks[0].Message["English (en)"] != "Adult under 18" {
		t.Errorf("checks = %+v", f.Checks)
	}
}

func TestCompileColumnsAndTypes(t *testing.T) {
	tests := []struct {
		name  string
		md    string
		check func(t *testing.T, f *Form)
	}{
		{
			name: "legacy single-colon language and aliases",
			md: "| survey |\n| | Type | Name | Label:English | hint:English | relevance | constraint message | calculate | read_only | Choice Filter | appearance | parameters | default |\n" +
				"| | integer | n | Number | Any | 1 = 1 | Too big | | true() | | thousands-sep | | 3 |\n" +
				"| | select one from yn | s | Pick | | | | | | name != ${n} | minimal | randomize=true | |\n" +
				"| | calculate | c | | | | | ${n} * 2 | | | | | |\n" +
				"| choices |\n| | list name | value | caption |\n| | yn | yes | Yes |\n",
			check: func(t *testing.T, f *Form) {
				n, s, c := f.Question("n"), f.Question("s"), f.Question("c")
				if n.Label["English"] != "Number" || n.Hint["English"] != "Any" || n.Relevant != "1 = 1" || n.ConstraintMessage[""] != "Too big" || !n.ReadOnly || n.Appearance != "thousands-sep" || n.Default != "3" {
					t.Errorf("n = %+v", n)
				}
				if s.Type != "select_one" || s.ListName != "yn" || s.ChoiceFilter != "name != ${n}" || s.Parameters != "randomize=true" {
					t.Errorf("s = %+v", s)
				}
				if c.Calculation != "${n} * 2" {
					t.Errorf("c = %+v", c)
				}
				if ch, ok := f.Choice("yn", "yes"); !ok || ch.Label[""] != "Yes" {
					t.Errorf("choices = %+v", f.Choices)
				}
				if !reflect.DeepEqual(f.Languages, []string{"English"}) {
					t.Errorf("languages = %q", f.Languages)
				}
			},
		},
		{
			name: "required values",
			md: "| survey |\n| | type | name | label | required |\n| | text | a | A | yes |\n| | text | b | B | TRUE |\n" +
				"| | text | c | C | true() |\n| | text | d | D | 1 |\n| | text | e | E | no |\n| | text | f | F | false |\n| | text | g | G | |\n",
			check: func(t *testing.T, f *Form) {
				for name, want := range map[string]bool{"a": true, "b": true, "c": true, "d": true, "e": false, "f": false, "g": false} {
					if got := f.Question(name).Required; got != want {
						t.Errorf("%s required = %v, want %v", name, got, want)
					}
				}
			},
		},
		{
			name: "types and aliases",
			md: "| survey |\n| | type | name | label |\n| | begin_repeat | r | R |\n| | string | t | T |\n| | int | i | I |\n| | end_repeat | | |\n" +
				"| | datetime | dt | DT |\n| | date | d | D |\n| | time | tm | TM |\n| | photo | p | P |\n| | gps | g | G |\n| | rank l | rk | RK |\n" +
				"| | select_one_from_file cities.csv | city | City |\n| | acknowledge | ok | OK |\n| | hidden | h | |\n| | audit | | |\n| | today | td | |\n| | username | u | |\n" +
				"| choices |\n| | list_name | name | label |\n| | l | a | A |\n",
			check: func(t *testing.T, f *Form) {
				want := map[string]string{"r": "repeat", "t": "text", "i": "integer", "dt": "dateTime", "d": "date", "tm": "time", "p": "image", "g": "geopoint", "rk": "rank", "city": "select_one_from_file", "ok": "acknowledge", "h": "hidden", "audit": "audit", "td": "today", "u": "username"}
				for name, typ := range want {
					if q := f.Question(name); q == nil || q.Type != typ {
						t.Errorf("%s = %+v, want type %s", name, q, typ)
					}
				}
				if got := f.Question("r").Children; len(got) != 2 || got[0].Path != "r/t" {
					t.Errorf("repeat children = %+v", got)
				}
				wantUnsupported := []string{"repeat", "image", "geopoint", "rank", "select_one_from_file", "audit"}
				if !reflect.DeepEqual(f.Unsupported, wantUnsupported) {
					t.Errorf("unsupported = %q, want %q", f.Unsupported, wantUnsupported)
				}
			},
		},
		{
			name: "comment rows, group spelled with spaces, settings defaults",
			md: "| survey |\n| | type | name | label | note |\n| | | | | just a comment |\n| | begin group | g | G | |\n| | text | q | Q | |\n| | end group | g | | |\n" +
				"| settings |\n| | version | allow_choice_duplicates |\n| | 1 | yes |\n",
			check: func(t *testing.T, f *Form) {
				if f.ID != "test_form" || f.Title != "test_form" {
					t.Errorf("id %q title %q: want the file stem for both", f.ID, f.Title)
				}
				if q := f.Question("q"); q == nil || q.Path != "g/q" || q.Row != 4 {
					t.Errorf("q = %+v", q)
				}
				if f.Settings["allow_choice_duplicates"] != "yes" {
					t.Errorf("settings = %v", f.Settings)
				}
			},
		},
		{
			name: "duplicate choices allowed by setting, instanceID reference",
			md: "| survey |\n| | type | name | label |\n| | select_one l | q | Q ${instanceID} |\n" +
				"| choices |\n| | list_name | name | label |\n| | l | a | A |\n| | l | a | A2 |\n" +
				"| settings |\n| | allow_choice_duplicates |\n| | yes |\n",
			check: func(t *testing.T, f *Form) {
				if len(f.Choices["l"]) != 2 {
					t.Errorf("choices = %+v", f.Choices)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, fe := parseMD(t, tt.md)
			if fe != nil {
				t.Fatalf("refused:\n%v", fe)
			}
			tt.check(t, f)
		})
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{Sheet: "survey", Row: 14, Message: "unknown choice list 'edu'"}, "survey!14: unknown choice list 'edu'"},
		{Problem{Sheet: "choices", Message: "x"}, "choices: x"},
		{Problem{Message: "no survey"}, "no survey"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.p, got, tt.want)
		}
	}
}
