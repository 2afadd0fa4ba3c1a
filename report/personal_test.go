package report_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/report"
	"github.com/govsurvey/govsurvey/sample"
	"github.com/govsurvey/govsurvey/store"
)

// personalForm is testdata/personal.md: gender and satisfied may be
// charted; income (personal), illness (sensitive) and callback (personal
// through its group) may not.
func personalForm(t *testing.T) *form.Form {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "personal.md"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := form.Parse("personal.md", data)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestPersonalNotCharted: the default definition leaves out questions
// classified personal or sensitive, and Check refuses any definition
// that charts one, groups by one or nets one, naming the figure and the
// question.
func TestPersonalNotCharted(t *testing.T) {
	f := personalForm(t)
	if q := f.Question("callback"); q == nil || q.Classification != "personal" {
		t.Fatalf("fixture: callback should inherit its group's classification, got %+v", q)
	}

	d := report.DefaultDefinition(f)
	var got []string
	for _, ch := range d.Chapters {
		for _, fs := range ch.Figures {
			got = append(got, fs.Question)
		}
	}
	if want := []string{"gender", "satisfied"}; !slices.Equal(got, want) {
		t.Errorf("default definition charts %v, want %v", got, want)
	}
	if err := d.Check(f); err != nil {
		t.Errorf("Check of the default definition: %v", err)
	}

	one := func(fs report.FigureSpec) *report.Definition {
		return &report.Definition{FormID: f.ID, Chapters: []report.ChapterSpec{{Figures: []report.FigureSpec{
			{Question: "gender", Kind: report.KindPie}, fs}}}}
	}
	tests := []struct {
		name string
		def  *report.Definition
		want []string // every one in the error
	}{
		{"personal question", one(report.FigureSpec{Question: "income", Kind: report.KindBar}),
			[]string{"chapter 1 figure 2", `"income"`, "classified personal"}},
		{"sensitive question", one(report.FigureSpec{Question: "illness", Kind: report.KindHBar}),
			[]string{"chapter 1 figure 2", `"illness"`, "classified sensitive"}},
		{"personal by its group", one(report.FigureSpec{Question: "callback", Kind: report.KindPie}),
			[]string{"chapter 1 figure 2", `"callback"`, "classified personal"}},
		{"grouped by a personal question", one(report.FigureSpec{Question: "satisfied", Kind: report.KindStacked, By: "income"}),
			[]string{"chapter 1 figure 2", `by "income"`, "classified personal"}},
		{"net of a sensitive question", &report.Definition{FormID: f.ID,
			Nets: []report.Net{{Question: "illness", Name: "ill", Choices: []string{"flu", "other"}}}},
			[]string{"net ill", `"illness"`, "classified sensitive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.def.Check(f)
			if err == nil {
				t.Fatal("Check accepted it")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), `"gender"`) {
				t.Errorf("error %q names gender, which may be charted", err)
			}
		})
	}

	// There is no escape hatch: the key is unknown.
	_, err := report.ReadDefinition(strings.NewReader(`{"form_id":"personal","chapters":[{"title":"t","figures":[{"question":"income","kind":"bar","allow_personal":true}]}]}`))
	if err == nil || !strings.Contains(err.Error(), "allow_personal") {
		t.Errorf("allow_personal: %v, want an unknown-key error", err)
	}
}

// TestPersonalBuildRefused: Build refuses a built-in definition (and so
// the report) when the form, or its base wave, classifies a charted
// question personal, before reading any response.
func TestPersonalBuildRefused(t *testing.T) {
	st := openStore(t)
	f, err := sample.SeedForm("netizen_2019")
	if err != nil {
		t.Fatal(err)
	}
	bf, err := sample.SeedForm("netizen_2018")
	if err != nil {
		t.Fatal(err)
	}
	f.Question("province").Classification = "personal"
	_, err = report.Build(t.Context(), report.Inputs{Store: st, Form: f})
	if err == nil || !strings.Contains(err.Error(), `"province" is classified personal`) {
		t.Errorf("built-in definition over a personal province: %v", err)
	}
	f.Question("province").Classification = "internal"
	bf.Question("gender").Classification = "sensitive"
	_, err = report.Build(t.Context(), report.Inputs{Store: st, Form: f, BaseForm: bf})
	if err == nil || !strings.Contains(err.Error(), "base wave netizen_2018") || !strings.Contains(err.Error(), `"gender" is classified sensitive`) {
		t.Errorf("base wave with a sensitive gender: %v", err)
	}
}

// TestPersonalBesideLeftOut: a form set beside this one (图 2-1) whose
// question is personal there is left out with a note, as an unregistered
// one is.
func TestPersonalBesideLeftOut(t *testing.T) {
	st := openStore(t)
	f, _ := seedWave(t, t.Context(), st, "netizen_2019", 200)
	seedWave(t, t.Context(), st, "practitioner_2019", 200)
	// A new revision of the practitioners' form classifies gender personal.
	pf, err := sample.SeedForm("practitioner_2019")
	if err != nil {
		t.Fatal(err)
	}
	pf.Question("gender").Classification = "personal"
	def, err := pf.Definition()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(def)
	if _, added, err := st.AddForm(t.Context(), store.FormVersion{FormID: pf.ID, Version: pf.Version, Title: pf.Title,
		Hash: hex.EncodeToString(sum[:]), Definition: def, SourceName: "practitioner_2019.xlsx"}); err != nil || !added {
		t.Fatalf("new revision: added %v, %v", added, err)
	}
	r, _ := build(t, report.Inputs{Store: st, Form: f})
	fig := r.Chapters[1].Figures[0]
	if len(fig.Table.Header) != 2 || !slices.Contains(fig.Table.Notes, "未列入：practitioner_2019（该题属个人或敏感信息）。") {
		t.Errorf("header %q, notes %q", fig.Table.Header, fig.Table.Notes)
	}
	if strings.Contains(string(fig.Option()), "参与调查的网络从业人员") {
		t.Error("the chart has the practitioners' series")
	}
}
