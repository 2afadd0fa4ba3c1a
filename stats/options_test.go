package stats

import (
	"strings"
	"testing"

	"github.com/govsurvey/govsurvey/form"
)

const optionsForm = `# options

| survey |
|        | type            | name   | label  |
|        | select_one g    | gender | Gender |
|        | select_multiple c | ch   | Ch     |
|        | integer         | hours  | Hours  |

| choices |
|         | list_name | name   | label  |
|         | g         | male   | Male   |
|         | g         | female | Female |
|         | c         | web    | Web    |

| settings |
|          | form_id | nets |
|          | opts    | gender.all=male+female |
`

// TestOptionText: the text of the command line and the API becomes the
// same options, and every bad word is refused naming its option, as
// malformed or as naming what the form lacks.
func TestOptionText(t *testing.T) {
	f, err := form.Parse("options.md", []byte(optionsForm))
	if err != nil {
		t.Fatal(err)
	}
	margins := []MarginSpec{{Field: "gender", Choices: []string{"male", "female"}, Values: []float64{0.5, 0.5}, Shares: true}}
	opts, err := OptionText{By: []string{"gender"}, Filters: []string{"gender=male"}, Nets: []string{"ch.any=web"},
		CI: "wilson", Level: "0.9", Trim: "0.2,5"}.Options(f, margins, "m.csv")
	if err != nil {
		t.Fatal(err)
	}
	if opts.CIMethod != CIWilson || opts.Level != 0.9 || len(opts.Nets) != 2 || opts.Nets[0].Name != "all" || len(opts.Filter) != 1 ||
		opts.Weighting == nil || opts.Weighting.Method != WeightRake || opts.Weighting.TrimHigh != 5 || opts.Weighting.Source != "m.csv" {
		t.Errorf("options %+v, weighting %+v", opts, opts.Weighting)
	}
	opts, err = OptionText{Strata: "gender", Cluster: " hours , gender", FPC: "hours,hours", LonelyPSU: "average"}.Options(f, nil, "")
	if want := (DesignFields{Strata: "gender", Clusters: []string{"hours", "gender"}, FPC: []string{"hours", "hours"}, Lonely: LonelyAverage}); err != nil ||
		opts.Design == nil || opts.Design.String() != want.String() {
		t.Errorf("design: %+v %v, want %+v", opts.Design, err, want)
	}
	if opts, err := (OptionText{}).Options(f, nil, ""); err != nil || opts.CIMethod != CILogit || opts.Level != 0.95 || opts.Weighting != nil || opts.Design != nil {
		t.Errorf("defaults: %+v %v", opts, err)
	}
	for _, c := range []struct {
		text    OptionText
		margins []MarginSpec
		option  string
		unknown bool
	}{
		{OptionText{CI: "bogus"}, nil, "ci", false},
		{OptionText{Level: "1.5"}, nil, "level", false},
		{OptionText{Level: "x"}, nil, "level", false},
		{OptionText{By: []string{"nosuch"}}, nil, "by", true},
		{OptionText{By: []string{"hours"}}, nil, "by", true},
		{OptionText{Questions: []string{"nosuch"}}, nil, "question", true},
		{OptionText{Filters: []string{"gender"}}, nil, "filter", false},
		{OptionText{Filters: []string{"gender=robot"}}, nil, "filter", true},
		{OptionText{Nets: []string{"gender.x"}}, nil, "net", false},
		{OptionText{Trim: "0.2,5"}, nil, "trim", false},
		{OptionText{Trim: "5,1"}, margins, "trim", false},
		{OptionText{Weighting: "magic"}, margins, "weighting", false},
		{OptionText{}, []MarginSpec{{Field: "hours"}}, "weights", true},
		{OptionText{Strata: "nosuch"}, nil, "strata", true},
		{OptionText{Cluster: "gender,ch"}, nil, "cluster", true},
		{OptionText{Cluster: "gender", FPC: "gender"}, nil, "fpc", true},
		{OptionText{Cluster: "gender", FPC: "hours,hours"}, nil, "fpc", false},
		{OptionText{Strata: "gender", LonelyPSU: "sometimes"}, nil, "lonely_psu", false},
	} {
		_, err := c.text.Options(f, c.margins, "")
		oe, ok := IsOptionError(err)
		if !ok || oe.Option != c.option || oe.Unknown != c.unknown || !strings.HasPrefix(err.Error(), c.option+": ") {
			t.Errorf("%+v: %v (%+v), want option %s unknown %v", c.text, err, oe, c.option, c.unknown)
		}
	}
	for _, c := range []struct {
		nets    string
		unknown bool
		ok      bool
	}{{"ch.any=web", false, true}, {"ch.any=tv", true, false}, {"nosuch.any=web", true, false}, {"broken", false, false}} {
		err := OptionText{Nets: []string{c.nets}}.CheckNets(f)
		oe, isOpt := IsOptionError(err)
		if (err == nil) != c.ok || (err != nil && (!isOpt || oe.Option != "net" || oe.Unknown != c.unknown)) {
			t.Errorf("CheckNets(%s): %v", c.nets, err)
		}
	}
}

// TestNetsIn: a net is kept only when the form has its question and
// every one of its choices.
func TestNetsIn(t *testing.T) {
	f, err := form.Parse("options.md", []byte(optionsForm))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		nets string
		want []string // the names kept
	}{
		{"gender.all=male+female; ch.any=web", []string{"all", "any"}},
		{"gender.all=male+robot; ch.any=web", []string{"any"}},
		{"nosuch.x=web; gender.m=male", []string{"m"}},
		{"ch.any=tv", nil},
	} {
		nets, err := ParseNets(c.nets)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, n := range NetsIn(nets, f) {
			got = append(got, n.Name)
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("NetsIn(%s) kept %v, want %v", c.nets, got, c.want)
		}
	}
}

// TestTableRows: the long table has a row per choice and net of every
// question, overall and per cross-tab group, in TableHeader's columns.
func TestTableRows(t *testing.T) {
	an := &Analysis{
		Questions: []QuestionTable{{Name: "q", Base: 10, Choices: []ChoiceEstimate{{Name: "a", Count: 4, Percent: 40}, {Name: "b", Count: 6, Percent: 60}}},
			{Name: "n", Base: 3, Summary: &NumericSummary{Mean: 2.5}}},
		Crosstabs: []Crosstab{{By: "g", Groups: []CrosstabGroup{{Name: "x", Questions: []QuestionTable{{Name: "q", Base: 5, Choices: []ChoiceEstimate{{Name: "a", Count: 1, Percent: 20}}}}}}}},
	}
	var b strings.Builder
	if err := an.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	want := strings.Join(TableHeader, ",") + "\n" +
		",,q,a,10,4,,40,0,0,0,\n,,q,b,10,6,,60,0,0,0,\n,,n,,3,,,,0,0,0,2.5\ng,x,q,a,5,1,,20,0,0,0,\n"
	if b.String() != want {
		t.Errorf("csv\n%s\nwant\n%s", b.String(), want)
	}
}
