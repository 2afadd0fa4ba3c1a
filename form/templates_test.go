package form

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// instrumentsDir holds the instruments beside the repository (CI has it).
const instrumentsDir = "../../shared/instruments"

// TestTemplatesMatchInstruments checks that each embedded .xlsx compiles to
// exactly the form of its markdown instrument: run go generate in this
// package when an instrument changes.
func TestTemplatesMatchInstruments(t *testing.T) {
	if want := []string{"netizen_2019", "practitioner_2019"}; !reflect.DeepEqual(Templates(), want) {
		t.Fatalf("Templates() = %q, want %q", Templates(), want)
	}
	for _, name := range Templates() {
		t.Run(name, func(t *testing.T) {
			data, filename, err := Template(name)
			if err != nil {
				t.Fatal(err)
			}
			if filename != name+".xlsx" {
				t.Errorf("filename = %q", filename)
			}
			fromXLSX, err := Parse(filename, data)
			if err != nil {
				t.Fatal(err)
			}
			mdPath := filepath.Join(instrumentsDir, name+".md")
			if _, err := os.Stat(mdPath); err != nil {
				t.Skipf("instrument not present: %v", err)
			}
			fromMD, err := ParseFile(mdPath)
			if err != nil {
				t.Fatal(err)
			}
			a, err := fromXLSX.Definition()
			if err != nil {
				t.Fatal(err)
			}
			b, err := fromMD.Definition()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Errorf("%s.xlsx and %s.md compile to different forms; run go generate ./form", name, name)
			}
		})
	}
}

func TestNetizenTemplate(t *testing.T) {
	f, err := ParseTemplate("netizen_2019")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseTemplate("no_such_form"); err == nil {
		t.Error("ParseTemplate of an unknown template succeeded")
	}
	if f.ID != "netizen_2019" || f.Version != "2019" || f.DefaultLanguage != "中文 (zh)" {
		t.Errorf("id %q version %q default language %q", f.ID, f.Version, f.DefaultLanguage)
	}
	// The field names of netizen_2019.md, in order: imports, exports and the
	// acceptance data use them.
	want := []string{"gender", "age_band", "education", "net_age", "occupation", "province",
		"overall_safety", "safety_change", "used_gov_online", "gov_services_used", "gov_services_need",
		"convenient", "convenience_improve", "gov_security", "gov_risks", "leak_domains",
		"legislation_view", "gov_security_services", "gov_should"}
	var got []string
	for _, q := range f.Fields() {
		got = append(got, q.Name)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fields = %q\nwant %q", got, want)
	}
	var checks []string
	for _, c := range f.Checks {
		checks = append(checks, c.Name)
	}
	if want := []string{"teen_degree", "teen_net_age", "young_net_age"}; !reflect.DeepEqual(checks, want) {
		t.Errorf("checks = %q, want %q", checks, want)
	}
	if q := f.Question("gov_services_used"); q.Relevant != "${used_gov_online} = 'yes'" || q.Type != "select_multiple" || q.ListName != "gov_domain" {
		t.Errorf("gov_services_used = %+v", q)
	}
	if c, ok := f.Choice("change4", "big_up"); !ok || c.Label["中文 (zh)"] != "明显提升" {
		t.Errorf("change4/big_up = %+v", c)
	}
	if len(f.Unsupported) != 0 {
		t.Errorf("the built-in form uses types the web form cannot show: %q", f.Unsupported)
	}
}

func TestTemplateUnknown(t *testing.T) {
	for _, name := range []string{"", "nope", "../form", "netizen_2019.xlsx"} {
		if _, _, err := Template(name); !errors.Is(err, ErrNotFound) {
			t.Errorf("Template(%q) err = %v, want ErrNotFound", name, err)
		}
	}
}
