package formcheck_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/formcheck"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/stats"
)

// small returns testdata/small.md with extra settings columns, headers
// as written and their values (a value must not hold "|").
func small(t *testing.T, cols ...string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/small.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(cols)%2 != 0 {
		t.Fatal("small: header without value")
	}
	head, row := "| form_id | version |", "| small   | 1       |"
	for i := 0; i < len(cols); i += 2 {
		head += " " + cols[i] + " |"
		row += " " + cols[i+1] + " |"
	}
	md := strings.Replace(string(b), "| form_id | version |", head, 1)
	return []byte(strings.Replace(md, "| small   | 1       |", row, 1))
}

// One case per settings parser and kind of mistake; each must be refused
// at settings!2 with its column named as written.
func TestParseRefusesBadSettings(t *testing.T) {
	tests := []struct {
		name   string
		cols   []string
		column string // the column the problem names
	}{
		{"open_at not a time", []string{"open_at", "2019-13-01"}, "open_at"},
		{"close_at not a time", []string{"close_at", "next week"}, "close_at"},
		{"close before open", []string{"open_at", "2019-08-01", "close_at", "2019-07-01"}, "close_at"},
		{"invitation", []string{"invitation", "maybe"}, "invitation"},
		{"quota without limit", []string{"quotas", "sex=m"}, "quotas"},
		{"quota of no question", []string{"quotas", "height=m:5"}, "quotas"},
		{"quota of no choice", []string{"quotas", "sex=x:5"}, "quotas"},
		{"speeding ratio", []string{"speeding_ratio", "1.5"}, "speeding_ratio"},
		{"rule switch", []string{"honeypot_rule", "maybe"}, "honeypot_rule"},
		{"burst window", []string{"burst_window", "soon"}, "burst_window"},
		{"burst max", []string{"burst_max", "0"}, "burst_max"},
		{"nets syntax", []string{"nets", "sex.any"}, "nets"},
		{"nets of no question", []string{"nets", "height.tall=m"}, "nets"},
		{"nets of no choice", []string{"nets", "sex.any=m+x"}, "nets"},
		{"nets of a number", []string{"nets", "age.old=60"}, "nets"},
		{"retention zero", []string{"retention_days", "0"}, "retention_days"},
		{"retention words", []string{"retention_days", "thirty"}, "retention_days"},
		// Headers match as every XLSForm header does: case and spaces
		// do not matter, and the problem names the column as written.
		{"retention header spaced", []string{"Retention Days", "-3"}, "Retention Days"},
		{"nets header capitals", []string{"NETS", "bad"}, "NETS"},
		{"schedule header spaced", []string{"Close At", "soon"}, "Close At"},
		{"invitation header capitals", []string{"Invitation", "perhaps"}, "Invitation"},
		{"cleaning header spaced", []string{"Speeding Ratio", "2"}, "Speeding Ratio"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := formcheck.Parse("small.md", small(t, tt.cols...))
			var fe *form.Error
			if !errors.As(err, &fe) {
				t.Fatalf("Parse = %v, %v; want a *form.Error", f, err)
			}
			if len(fe.Problems) != 1 {
				t.Fatalf("problems = %v, want one", fe.Problems)
			}
			p := fe.Problems[0]
			if p.Sheet != "settings" || p.Row != 2 || !strings.HasPrefix(p.Message, "column "+tt.column+": ") {
				t.Errorf("problem = %q, want settings!2 naming column %s", p, tt.column)
			}
			if !strings.Contains(err.Error(), "small.md: settings!2: column "+tt.column) {
				t.Errorf("error = %q, want it to name the file and settings!2", err)
			}
		})
	}
}

func TestParseListsEveryBadColumn(t *testing.T) {
	_, err := formcheck.Parse("small.md", small(t, "burst_max", "0", "honeypot_rule", "maybe", "retention_days", "x", "invitation", "maybe"))
	var fe *form.Error
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want a *form.Error", err)
	}
	got := map[string]bool{}
	for _, p := range fe.Problems {
		col, _, _ := strings.Cut(strings.TrimPrefix(p.Message, "column "), ":")
		got[col] = true
	}
	for _, col := range []string{"burst_max", "honeypot_rule", "retention_days", "invitation"} {
		if !got[col] {
			t.Errorf("no problem names %s: %v", col, fe.Problems)
		}
	}
	if len(fe.Problems) != 4 {
		t.Errorf("problems = %v, want 4", fe.Problems)
	}
}

func TestParseAcceptsGoodSettings(t *testing.T) {
	f, err := formcheck.Parse("small.md", small(t,
		"Open At", "2019-07-01 08:00", "close_at", "2019-08-01", "invitation", "required",
		"quotas", "sex=m:10; sex=f:10", "Speeding Ratio", "0.4", "burst_window", "10m",
		"Nets", "sex.all=m+f", "Retention Days", "30", "publisher", "Statistics Office"))
	if err != nil {
		t.Fatal(err)
	}
	// The columns written with capitals and spaces are read, not skipped.
	if days, err := security.RetentionDays(f); err != nil || days != 30 {
		t.Errorf("RetentionDays = %d, %v; want 30", days, err)
	}
	if nets, err := stats.FormNets(f); err != nil || len(nets) != 1 || nets[0].Name != "all" || len(nets[0].Choices) != 2 {
		t.Errorf("FormNets = %+v, %v; want the net sex.all", nets, err)
	}
	if col, v := f.Setting("PUBLISHER"); col != "publisher" || v != "Statistics Office" {
		t.Errorf("Setting(PUBLISHER) = %q, %q", col, v)
	}
	if _, err := formcheck.Parse("small.md", small(t)); err != nil {
		t.Errorf("no settings at all: %v", err)
	}
}

func TestTemplatesPass(t *testing.T) {
	ids := form.Templates()
	if len(ids) == 0 {
		t.Fatal("no built-in templates")
	}
	for _, id := range ids {
		data, name, err := form.Template(id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := formcheck.Parse(name, data); err != nil {
			t.Errorf("built-in template %s: %v", id, err)
		}
	}
}

// A form compile refuses is refused as compile says, before its settings
// are read.
func TestParseKeepsFormProblems(t *testing.T) {
	bad := strings.Replace(string(small(t, "retention_days", "0")), "select_one mf", "select_one nolist", 1)
	_, err := formcheck.Parse("small.md", []byte(bad))
	var fe *form.Error
	if !errors.As(err, &fe) || len(fe.Problems) == 0 || fe.Problems[0].Sheet != "survey" {
		t.Fatalf("err = %v, want the survey sheet's problem", err)
	}
}
