package web

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
)

// TestBrowserNetizenForm is the acceptance test: headless Chromium
// at phone size fills the built-in netizen form, once in Chinese taking the
// "used government online services" branch, once switching to English
// after the first page and skipping that branch; each time it submits,
// sees the receipt, and the response is in the store with its paradata.
func TestBrowserNetizenForm(t *testing.T) {
	r := newFormRig(t, 3*time.Minute)
	data, name, err := form.Template("netizen_2019")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := collect.AddForm(t.Context(), r.st, name, data); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		usedGov    bool
		switchToEn bool
		// what the pages must say, before and after any switch
		consent, gender, page2of4, required string
		wantLang                            string
	}{
		{name: "zh, used government services", usedGov: true,
			consent: "隐私声明", gender: "您的性别", page2of4: "第 2 页，共 4 页", required: "此题为必答题。", wantLang: "zh"},
		{name: "zh then en, did not use them", usedGov: false, switchToEn: true,
			consent: "隐私声明", gender: "您的性别", page2of4: "Page 2 of 4", required: "此题为必答题。", wantLang: "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A new tab: its own sessionStorage, as a second respondent.
			receipt := fillNetizen(r.tab(t), r.url, tt.usedGov, tt.switchToEn, tt.consent, tt.gender, tt.page2of4, tt.required)
			checkStored(t, r.st, receipt, tt.usedGov, tt.wantLang)
		})
	}
}

// fillNetizen fills the netizen form in tb and returns the receipt shown.
func fillNetizen(tb *tab, base string, usedGov, switchToEn bool, consent, gender, page2of4, required string) string {
	t := tb.t
	t.Helper()
	run, text, eval := tb.run, tb.rawText, tb.is
	pick := func(field string, choices ...int) chromedp.Action[chromedp.Void] {
		var steps []chromedp.Action[chromedp.Void]
		for _, c := range choices {
			steps = append(steps, chromedp.Click(chromedp.CSS(fmt.Sprintf("#q-%s-%d", field, c))))
		}
		return chromedp.Steps(steps...)
	}
	// The province list is long: a drop-down, chosen as a user's select does.
	dropdown := func(field, value string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(chromedp.Focus(chromedp.CSS("#q-"+field)), changeField(field, value))
	}

	run("open the form on a phone",
		respondentPhone(),
		chromedp.Navigate(base+"/f/netizen_2019"),
		chromedp.WaitVisible(chromedp.CSS("#agree")),
	)
	if got := text("#consent h2"); !strings.Contains(got, consent) {
		t.Errorf("consent heading %q lacks %q", got, consent)
	}
	if eval(`document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("the form is wider than a phone screen")
	}
	run("agree", chromedp.Click(chromedp.CSS("#agree")), chromedp.WaitVisible(chromedp.CSS("#page-demo")))
	if got := text("#q-gender legend"); !strings.Contains(got, gender) {
		t.Errorf("gender question %q lacks %q", got, gender)
	}

	// Next without answers: the page says what is missing and puts the
	// focus on the first question to fix.
	run("next with nothing answered", chromedp.Click(chromedp.CSS("#next")), chromedp.WaitVisible(chromedp.CSS("#summary")))
	if got := text("#q-gender-err"); got != required {
		t.Errorf("gender error %q, want %q", got, required)
	}
	if !eval(`document.activeElement && document.activeElement.id === 'q-gender-0'`) {
		t.Error("focus is not on the first unanswered question")
	}
	if !eval(`document.getElementById('q-gender').getAttribute('aria-invalid') === 'true'`) {
		t.Error("the unanswered question is not marked aria-invalid")
	}

	run("page 1", pick("gender", 0), pick("age_band", 2), pick("education", 4), pick("net_age", 3),
		pick("occupation", 1), dropdown("province", "zhejiang"))
	if switchToEn {
		// Change language mid-form: the page reloads in English with the
		// answers so far kept.
		// The Chinese page has #page-demo too: wait for the English page
		// to load, then for the script to show its first page again.
		tb.follow("switch to English", `html[lang="en"] #page-demo`, chromedp.Click(chromedp.CSS("#lang-switch")))
		run("English first page", chromedp.WaitVisible(chromedp.CSS("#page-demo")))
		if got := text("#q-gender legend"); !strings.Contains(got, "Gender") {
			t.Fatalf("after switching, gender question %q", got)
		}
		if !eval(`document.getElementById('q-gender-0').checked && document.getElementById('q-province').value === 'zhejiang'`) {
			t.Fatal("answers lost when switching language")
		}
	}
	run("to page 2", chromedp.Click(chromedp.CSS("#next")), chromedp.WaitVisible(chromedp.CSS("#page-perception")))
	if got := text("#progress-text"); got != page2of4 {
		t.Errorf("progress %q, want %q", got, page2of4)
	}
	run("page 2", pick("overall_safety", 1), pick("safety_change", 1),
		chromedp.Click(chromedp.CSS("#next")), chromedp.WaitVisible(chromedp.CSS("#page-govsvc")))

	branch := `document.querySelector('[data-item="gov_services_used"]').hidden`
	if !eval(branch) {
		t.Error("gov_services_used shown before used_gov_online is answered")
	}
	// Yes shows the follow-up question; in the "no" run it is then hidden
	// again, and what was ticked in it must not be sent.
	run("used: yes", pick("used_gov_online", 0), chromedp.WaitVisible(chromedp.CSS(`[data-item="gov_services_used"]`)))
	run("services used", pick("gov_services_used", 0, 3))
	if !usedGov {
		run("used: no", pick("used_gov_online", 1), chromedp.WaitNotVisible(chromedp.CSS(`[data-item="gov_services_used"]`)))
	}
	run("page 3", pick("gov_services_need", 2), pick("convenient", 0), pick("convenience_improve", 1, 2),
		pick("gov_security", 1), pick("gov_risks", 0, 3), pick("leak_domains", 0),
		chromedp.Click(chromedp.CSS("#next")), chromedp.WaitVisible(chromedp.CSS("#page-policy")))
	if !eval(`!document.getElementById('submit').hidden && document.getElementById('next').hidden`) {
		t.Error("the last page shows no submit button")
	}
	run("page 4 and submit", pick("legislation_view", 1), pick("gov_security_services", 0), pick("gov_should", 0, 1),
		chromedp.Click(chromedp.CSS("#submit")), chromedp.WaitVisible(chromedp.CSS("#thanks")))
	receipt := text("#receipt")
	if _, ok := collect.ParseReceipt(receipt); !ok {
		t.Fatalf("receipt shown: %q", receipt)
	}
	if !eval(`document.getElementById('withdraw-link').href.indexOf(` + jsString(receipt) + `) > 0`) {
		t.Error("the withdrawal link does not carry the receipt")
	}
	// A reload shows the receipt again rather than an empty form.
	run("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#thanks")))
	if got := text("#receipt"); got != receipt {
		t.Errorf("after reload, receipt %q, want %q", got, receipt)
	}
	return receipt
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// checkStored finds the response by its receipt and checks its answers
// and paradata.
func checkStored(t *testing.T, st store.Store, receipt string, usedGov bool, lang string) {
	t.Helper()
	ctx := t.Context()
	var found *store.Response
	if err := st.EachResponse(ctx, store.ResponseFilter{FormID: "netizen_2019"}, func(r store.Response) error {
		if r.Receipt == receipt {
			found = &r
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if found == nil {
		t.Fatalf("no stored response has receipt %s", receipt)
	}
	r := *found
	if r.Channel != "web" || r.Client == "" || r.Honeypot {
		t.Errorf("channel %q, client %q, honeypot %v", r.Channel, r.Client, r.Honeypot)
	}
	if r.Started.IsZero() || r.Ended.IsZero() || r.Ended.Before(r.Started) || r.SubmittedAt.Before(r.Ended.Add(-time.Minute)) {
		t.Errorf("started %v, ended %v, submitted %v", r.Started, r.Ended, r.SubmittedAt)
	}
	// The form makes a version 7 UUID when submit is first pressed: its
	// time is the browser's clock then, between the start and the store.
	id, err := uuid.Parse(r.InstanceID)
	if err != nil || id.Version() != 7 || id.Variant() != uuid.RFC4122 {
		t.Errorf("instance id %q is not a version 7 UUID (%v)", r.InstanceID, err)
	} else if at := time.Unix(id.Time().UnixTime()); at.Before(r.Started.Truncate(time.Second)) || at.After(r.SubmittedAt.Add(time.Second)) {
		t.Errorf("instance id %s made at %v, outside started %v … submitted %v", r.InstanceID, at, r.Started, r.SubmittedAt)
	}
	f, err := collect.NewForms(st).Revision(ctx, r.FormID, r.Revision)
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.DecodeAnswers(r.Answers)
	if err != nil {
		t.Fatal(err)
	}
	want := form.Answers{
		"gender": "male", "age_band": "a25_30", "education": "bachelor", "net_age": "y10_12",
		"occupation": "employee", "province": "zhejiang", "overall_safety": "safe", "safety_change": "up",
		"used_gov_online": "no", "gov_services_need": "education", "convenient": "convenient",
		"convenience_improve": "feedback disclosure", "gov_security": "safe", "gov_risks": "pii_leak phishing",
		"leak_domains": "bank", "legislation_view": "dedicated_law", "gov_security_services": "knowledge",
		"gov_should": "laws_crackdown supervision",
	}
	if usedGov {
		want["used_gov_online"] = "yes"
		want["gov_services_used"] = "bank social_security"
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range want {
			if !yield(k) {
				return
			}
		}
		for k := range a {
			if _, ok := want[k]; !ok && !yield(k) {
				return
			}
		}
	}) {
		if a[k] != want[k] {
			t.Errorf("answer %s = %q, want %q", k, a[k], want[k])
		}
	}
	var para collect.Paradata
	if err := json.Unmarshal(r.Paradata, &para); err != nil {
		t.Fatalf("paradata %s: %v", r.Paradata, err)
	}
	var pages []string
	for _, p := range para.Pages {
		pages = append(pages, p.Page)
		if p.MS < 0 {
			t.Errorf("page %s: %d ms", p.Page, p.MS)
		}
	}
	if para.Lang != lang || !slices.Equal(pages, []string{"demo", "perception", "govsvc", "policy"}) {
		t.Errorf("paradata %s", r.Paradata)
	}
}
