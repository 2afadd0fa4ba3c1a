package web

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/store"
)

// TestBrowserRules checks, in Chromium, that the web form applies each
// kind of rule of testdata/webform.md as the server does: a constraint
// and its message, a group whose relevance skips a page, required_if,
// choice_filter, relevance through a calculation, and a constraint on a
// select_multiple; what it finally sends is accepted and stored with the
// server's own calculation, and flagged when the honeypot was filled in.
func TestBrowserRules(t *testing.T) {
	r := newFormRig(t, 3*time.Minute)
	st := r.st
	tb := r.tab(t)
	run, text, is := tb.run, tb.rawText, tb.is
	hidden := func(sel string) string {
		return fmt.Sprintf(`document.querySelector(%s).closest('[hidden]') !== null`, jsString(sel))
	}

	run("open", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(r.url+"/f/webform?lang=en"), chromedp.WaitVisible(chromedp.CSS("#agree")),
		chromedp.Click(chromedp.CSS("#agree")), chromedp.WaitVisible(chromedp.CSS("#page-page-1")))

	// A constraint, with the form's own message.
	run("age 5", chromedp.Click(chromedp.CSS("#q-consent_ok-0")), changeField("age", "5"), chromedp.Click(chromedp.CSS("#next")),
		chromedp.WaitVisible(chromedp.CSS("#summary")))
	if got := text("#q-age-err"); got != "12 to 99 only" {
		t.Errorf("age 5: error %q", got)
	}
	if !is(`document.activeElement.id === 'q-age'`) {
		t.Error("focus is not on the age field")
	}
	// Age 15: the work group is not relevant, so its page is skipped.
	run("age 15", changeField("age", "15"), chromedp.Click(chromedp.CSS("#next")), chromedp.WaitVisible(chromedp.CSS("#page-page-3")))
	if got := text("#progress-text"); got != "Page 2 of 2" {
		t.Errorf("progress %q without the work page", got)
	}
	// choice_filter: only the cities of the chosen province.
	run("province p2", chromedp.Click(chromedp.CSS("#q-province-1")))
	for _, tt := range []struct {
		choice string
		hidden bool
	}{{"c1", true}, {"c2", true}, {"c3", false}} {
		if got := is(hidden(`[data-item="city"] [data-choice="` + tt.choice + `"]`)); got != tt.hidden {
			t.Errorf("province p2: city %s hidden = %v", tt.choice, got)
		}
	}
	// Relevance through a calculation: adult is 'no' at 15.
	if !is(hidden(`[data-item="adult_ok"]`)) {
		t.Error("adult_ok shown at age 15")
	}
	// A constraint on a select_multiple.
	run("three topics", chromedp.Click(chromedp.CSS("#q-city-2")), chromedp.Click(chromedp.CSS("#q-topics-0")),
		chromedp.Click(chromedp.CSS("#q-topics-1")), chromedp.Click(chromedp.CSS("#q-topics-2")),
		chromedp.Click(chromedp.CSS("#submit")), chromedp.WaitVisible(chromedp.CSS("#summary")))
	if got := text("#q-topics-err"); got != "at most two" {
		t.Errorf("three topics: error %q", got)
	}
	// Back to page 1: at 30 the work page comes back, and required_if
	// asks for the employer once "employed" is yes.
	run("back", chromedp.Click(chromedp.CSS("#q-topics-2")), chromedp.Click(chromedp.CSS("#prev")),
		chromedp.WaitVisible(chromedp.CSS("#page-page-1")), changeField("age", "30"),
		chromedp.Click(chromedp.CSS("#next")), chromedp.WaitVisible(chromedp.CSS("#page-work")))
	run("employed, no employer", chromedp.Click(chromedp.CSS("#q-employed-0")), chromedp.Click(chromedp.CSS("#next")),
		chromedp.WaitVisible(chromedp.CSS("#summary")))
	if got := text("#q-employer-err"); got != "This question is required." {
		t.Errorf("employer: error %q", got)
	}
	run("employer", changeField("employer", "Acme"), chromedp.Click(chromedp.CSS("#next")), chromedp.WaitVisible(chromedp.CSS("#page-page-3")))
	if is(hidden(`[data-item="adult_ok"]`)) {
		t.Error("adult_ok hidden at age 30")
	}
	// Province p2 still chosen: city c3 kept. A bot fills in every text
	// field it finds, the hidden trap too. Submit.
	run("submit", chromedp.Click(chromedp.CSS("#q-adult_ok-0")),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('hp-website').value = 'http://spam.example'`),
		chromedp.Click(chromedp.CSS("#submit")),
		chromedp.WaitVisible(chromedp.CSS("#thanks")))
	receipt := text("#receipt")
	var got store.Response
	if err := st.EachResponse(t.Context(), store.ResponseFilter{FormID: "webform"}, func(r store.Response) error {
		if r.Receipt == receipt {
			got = r
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !got.Honeypot || got.Channel != "web" {
		t.Errorf("trap filled in: stored honeypot %v, channel %q", got.Honeypot, got.Channel)
	}
	f, err := collect.NewForms(st).Revision(t.Context(), "webform", 1)
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.DecodeAnswers(got.Answers)
	if err != nil {
		t.Fatalf("response with receipt %s: %v", receipt, err)
	}
	want := "adult=yes adult_ok=yes age=30 city=c3 consent_ok=yes employed=yes employer=Acme province=p2 topics=t1 t2"
	var parts []string
	for _, k := range []string{"adult", "adult_ok", "age", "city", "consent_ok", "employed", "employer", "province", "topics"} {
		parts = append(parts, k+"="+a[k])
	}
	if strings.Join(parts, " ") != want || len(a) != 9 {
		t.Errorf("stored %v\nwant   %s", a, want)
	}
}
