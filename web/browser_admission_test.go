package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/internal/browsertest"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// TestBrowserInvitationAndQuota fills testdata/webform.md, an
// invitation-only form with a quota of one for province p1, at phone
// size: the first invitee submits; a second tab with the same link is told
// the link is used; a second invitee, switching to English on the way
// (the link's token must survive the switch), picks the full province, is
// shown the quota message at that question, picks another, and submits.
func TestBrowserInvitationAndQuota(t *testing.T) {
	browser := browsertest.New(t, 2*time.Minute)
	st := storetest.OpenSQLite(t)
	ts := testServer(t, st, Options{}, "invitation=required", "quotas=province=p1:1")
	tokens, err := collect.CreateInvitations(t.Context(), st, "webform", 2)
	if err != nil {
		t.Fatal(err)
	}

	tab := func() (context.Context, func(what string, steps ...chromedp.Action[chromedp.Void])) {
		ctx, cancel := chromedp.NewContext(browser) // its own sessionStorage
		t.Cleanup(cancel)
		return ctx, func(what string, steps ...chromedp.Action[chromedp.Void]) {
			t.Helper()
			if err := chromedp.Do(ctx, steps...); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
	}
	text := func(ctx context.Context, sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	click := func(sel string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(sel)) }
	// fill answers up to the last page, province p1 and its first city.
	fill := func(run func(string, ...chromedp.Action[chromedp.Void]), token, lang string) {
		t.Helper()
		run("open the invitation link",
			chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile, chromedp.EmulateTouch),
			chromedp.Navigate(ts.URL+"/f/webform?t="+token),
			chromedp.WaitVisible(chromedp.CSS("#agree")))
		if lang == "en" {
			run("switch to English", click("#lang-switch"), chromedp.WaitVisible(chromedp.CSS("#agree")),
				chromedp.Poll[chromedp.Void](`document.documentElement.lang === 'en'`))
		}
		run("page 1", click("#agree"), chromedp.WaitVisible(chromedp.CSS("#q-age")),
			click("#q-consent_ok-0"), chromedp.SendKeys(chromedp.CSS("#q-age"), "30"),
			click("#next"), chromedp.WaitVisible(chromedp.CSS("#q-employed")))
		run("work", click("#q-employed-1"), click("#next"), chromedp.WaitVisible(chromedp.CSS("#q-province")))
		run("province p1", click("#q-province-0"), click("#q-city-0"))
	}

	// The first invitee.
	ctxA, runA := tab()
	fill(runA, tokens[0], "zh")
	runA("submit", click("#submit"), chromedp.WaitVisible(chromedp.CSS("#thanks")))
	receipt := text(ctxA, "#receipt")
	if _, ok := collect.ParseReceipt(receipt); !ok {
		t.Fatalf("receipt %q", receipt)
	}

	// The same link in another tab: a new submission, refused.
	ctxB, runB := tab()
	fill(runB, tokens[0], "zh")
	runB("submit with a used link", click("#submit"),
		chromedp.Poll[chromedp.Void](`document.getElementById('status').textContent.indexOf('已被使用') >= 0`))
	if got := text(ctxB, "#status"); !strings.Contains(got, "已被使用") {
		t.Errorf("status %q", got)
	}

	// The second invitee, in English, into the full quota and out of it.
	ctxC, runC := tab()
	fill(runC, tokens[1], "en")
	runC("submit into the full quota", click("#submit"),
		chromedp.Poll[chromedp.Void](`document.getElementById('q-province-err').textContent !== ''`))
	if got := text(ctxC, "#q-province-err"); !strings.Contains(got, "This quota is full") || !strings.Contains(got, "P1") {
		t.Errorf("province error %q", got)
	}
	runC("another province", click("#q-province-1"), click("#q-city-2"),
		click("#submit"), chromedp.WaitVisible(chromedp.CSS("#thanks")))
	if n, _ := st.CountResponses(t.Context(), "webform"); n != 2 {
		t.Errorf("%d responses stored, want 2", n)
	}
	if ic, _ := st.InvitationCounts(t.Context(), "webform"); ic.Used != 2 {
		t.Errorf("invitations %+v, want both used", ic)
	}
}
