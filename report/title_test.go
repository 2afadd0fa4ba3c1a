package report_test

import (
	"strings"
	"testing"
	"unicode"

	"github.com/govsurvey/govsurvey/report"
	"github.com/govsurvey/govsurvey/sample"
)

func hasHan(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) })
}

// TestDefaultTitle: the default definition's title is the form's title in
// each language; a form without an English title gets its id in English.
func TestDefaultTitle(t *testing.T) {
	seed, err := sample.SeedForm("netizen_2019")
	if err != nil {
		t.Fatal(err)
	}
	pf := personalForm(t)
	tests := []struct {
		name   string
		title  report.Text
		zh, en string
	}{
		{"no English title", report.DefaultDefinition(seed).Title, seed.Title + "调查报告", "netizen_2019 — report"},
		{"form_title::English (en)", report.DefaultDefinition(pf).Title, "居民生活调查调查报告", "Household survey — report"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.title["zh"] != tt.zh || tt.title["en"] != tt.en {
				t.Errorf("title %q, want zh %q and en %q", tt.title, tt.zh, tt.en)
			}
		})
	}
}

// TestReportTitleAndProgress: an English report never takes the Chinese
// title: the definition's English title, else the form's, else the form
// id; the methods name the form the same way. Progress stages follow the
// report's language.
func TestReportTitleAndProgress(t *testing.T) {
	x := seedFixture(t)
	builtin := mustDefinitionFor(t, x.f)
	if builtin.Title["en"] == "" || hasHan(builtin.Title["en"]) {
		t.Fatalf("the built-in netizen definition has no English title: %q", builtin.Title)
	}
	zhOnly := mustDefinitionFor(t, x.f)
	zhOnly.Title = report.Text{"zh": "某市网民调查报告"}
	english, err := sample.SeedForm("netizen_2019")
	if err != nil {
		t.Fatal(err)
	}
	english.Settings["form_title::English (en)"] = "Netizen survey 2019"

	tests := []struct {
		name   string
		in     report.Inputs
		title  string
		source string // how the methods' first sentence names the form
	}{
		{"built-in en", report.Inputs{Form: x.f, Definition: builtin, Lang: "en"}, builtin.Title["en"], "the data of form netizen_2019, version 2019;"},
		{"built-in zh", report.Inputs{Form: x.f, Definition: builtin}, builtin.Title["zh"], "依据“" + x.f.Title + "”"},
		{"zh-only title, en", report.Inputs{Form: x.f, Definition: zhOnly, Lang: "en"}, "netizen_2019 — report", "the data of form netizen_2019, version 2019;"},
		{"zh-only title, zh", report.Inputs{Form: x.f, Definition: zhOnly}, "某市网民调查报告", "依据“" + x.f.Title + "”"},
		{"form's English title", report.Inputs{Form: english, Definition: report.DefaultDefinition(english), Lang: "en"},
			"Netizen survey 2019 — report", "the data of “Netizen survey 2019” (form netizen_2019, version 2019);"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stages []string
			tt.in.Store = x.st
			tt.in.Progress = func(s string) { stages = append(stages, s) }
			r, page := build(t, tt.in)
			if r.Title != tt.title {
				t.Errorf("title %q, want %q", r.Title, tt.title)
			}
			if !strings.Contains(page, "<title>"+tt.title+"</title>") {
				t.Errorf("the page's title is not %q", tt.title)
			}
			if intro := strings.Join(r.Chapters[0].Intro, " "); !strings.Contains(intro, tt.source) {
				t.Errorf("methods %q lack %q", intro, tt.source)
			}
			load, write := "读取 netizen_2019 的问卷", "撰写图表与文字"
			if tt.in.Lang == "en" {
				load, write = "load netizen_2019", "write figures"
				for _, s := range stages {
					if hasHan(s) {
						t.Errorf("English progress stage %q", s)
					}
				}
			}
			if len(stages) < 3 || stages[0] != load || stages[len(stages)-1] != write {
				t.Errorf("stages %q, want %q first and %q last", stages, load, write)
			}
		})
	}
}
