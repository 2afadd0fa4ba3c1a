package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserAdmission: at phone width a designer opens the invitations
// page, makes two invitations and gets their CSV as a download; an
// invitee submits with one; the page's invitation and quota counts follow
// without a reload.
func TestBrowserAdmission(t *testing.T) {
	e := newConsoleRig(t, 2*time.Minute, Options{})
	addWebform(t, e.sealing, "invitation=required", "quotas=province=p1:2")
	tb := e.staff("designer", "/console/forms/webform/invitations?lang=en", "#invite-form")
	if got := tb.text("#inv-total"); got != "0" {
		t.Errorf("invitations before: %q", got)
	}
	tb.page("admission-1")

	dl := newJourneyDownloads(t, tb)
	tb.run("how many", chromedp.SetValue(chromedp.CSS("#n"), "2"))
	b, name := dl.get("invitations CSV", chromedp.Click(chromedp.CSS("#make-invitations")))
	if !strings.HasPrefix(name, "webform-invitations-") || !strings.HasSuffix(name, ".csv") {
		t.Errorf("download named %q", name)
	}
	rows := readCSV(t, string(b))
	if len(rows) != 3 || !strings.HasPrefix(rows[1][2], e.ts.URL+"/f/webform?t=") {
		t.Fatalf("CSV: %q", rows)
	}
	// The page stayed; its counts are polled.
	tb.run("counts after making", chromedp.Poll[chromedp.Void](`document.getElementById('inv-total').textContent === '2'`))

	r := do(t, &http.Client{}, "POST", e.ts.URL+"/api/v1/forms/webform/submissions", "application/json", bodyWith("b1", rows[1][1], "p1"))
	if r.status != http.StatusCreated {
		t.Fatalf("submission with the token: %d %s", r.status, r.body)
	}
	tb.run("counts after a submission", chromedp.Poll[chromedp.Void](
		`document.getElementById('inv-used').textContent === '1' && document.getElementById('quota-taken-0').textContent === '1' && document.getElementById('quota-left-0').textContent === '1'`))
	if got := tb.text("#inv-unused"); got != "1" {
		t.Errorf("unused: %q", got)
	}
	tb.page("admission-2")
	tb.noConsoleErrors()
}
