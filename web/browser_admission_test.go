package web

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/govsurvey/govsurvey/collect"
)

// TestBrowserInvitationAndQuota fills testdata/webform.md, an
// invitation-only form with a quota of one for province p1, at phone
// size: the first invitee submits; a second tab with the same link is told
// the link is used; a second invitee, switching to English on the way
// (the link's token must survive the switch), picks the full province, is
// shown the quota message at that question, picks another, and submits.
func TestBrowserInvitationAndQuota(t *testing.T) {
	r := newFormRig(t, 2*time.Minute, "invitation=required", "quotas=province=p1:1")
	tokens, err := collect.CreateInvitations(t.Context(), r.st, "webform", 2)
	if err != nil {
		t.Fatal(err)
	}
	click := func(sel string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(sel)) }
	// invitee opens a tab and fills answers up to the last page, province
	// p1 and its first city.
	invitee := func(token, lang string) *tab {
		t.Helper()
		tb := r.tab(t)
		tb.run("open the invitation link", respondentPhone(),
			chromedp.Navigate(r.url+"/f/webform?t="+token),
			chromedp.WaitVisible(chromedp.CSS("#agree")))
		if lang == "en" {
			tb.run("switch to English", click("#lang-switch"), chromedp.WaitVisible(chromedp.CSS("#agree")),
				chromedp.Poll[chromedp.Void](`document.documentElement.lang === 'en'`))
		}
		tb.run("page 1", click("#agree"), chromedp.WaitVisible(chromedp.CSS("#q-age")),
			click("#q-consent_ok-0"), chromedp.SendKeys(chromedp.CSS("#q-age"), "30"),
			click("#next"), chromedp.WaitVisible(chromedp.CSS("#q-employed")))
		tb.run("work", click("#q-employed-1"), click("#next"), chromedp.WaitVisible(chromedp.CSS("#q-province")))
		tb.run("province p1", click("#q-province-0"), click("#q-city-0"))
		return tb
	}

	// The first invitee.
	a := invitee(tokens[0], "zh")
	a.run("submit", click("#submit"), chromedp.WaitVisible(chromedp.CSS("#thanks")))
	receipt := a.rawText("#receipt")
	if _, ok := collect.ParseReceipt(receipt); !ok {
		t.Fatalf("receipt %q", receipt)
	}

	// The same link in another tab: a new submission, refused.
	b := invitee(tokens[0], "zh")
	b.run("submit with a used link", click("#submit"),
		chromedp.Poll[chromedp.Void](`document.getElementById('status').textContent.indexOf('已被使用') >= 0`))
	if got := b.rawText("#status"); !strings.Contains(got, "已被使用") {
		t.Errorf("status %q", got)
	}

	// The second invitee, in English, into the full quota and out of it.
	c := invitee(tokens[1], "en")
	c.run("submit into the full quota", click("#submit"),
		chromedp.Poll[chromedp.Void](`document.getElementById('q-province-err').textContent !== ''`))
	if got := c.rawText("#q-province-err"); !strings.Contains(got, "This quota is full") || !strings.Contains(got, "P1") {
		t.Errorf("province error %q", got)
	}
	c.run("another province", click("#q-province-1"), click("#q-city-2"),
		click("#submit"), chromedp.WaitVisible(chromedp.CSS("#thanks")))
	if n, _ := r.st.CountResponses(t.Context(), "webform"); n != 2 {
		t.Errorf("%d responses stored, want 2", n)
	}
	if ic, _ := r.st.InvitationCounts(t.Context(), "webform"); ic.Used != 2 {
		t.Errorf("invitations %+v, want both used", ic)
	}
}
