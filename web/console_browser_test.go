package web

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserConsole is the console's acceptance test at phone width: a
// designer logs in, uploads the netizen XLSForm, sees its versions, share
// link, QR code and preview, opens the collection page; a respondent
// submits through /f/netizen_2019 in another tab; the collection page's
// count changes without a reload. No console errors, no request leaves
// the server's origin.
func TestBrowserConsole(t *testing.T) {
	e := newConsoleRig(t, 4*time.Minute, Options{})
	file := netizenXLSForm(t)
	tb := e.staff("designer", "/console/upload", "#file")
	run, text, is, page := tb.run, tb.text, tb.is, tb.page

	if got := text("h1"); got != "上传 XLSForm 问卷" {
		t.Errorf("upload page heading %q", got)
	}
	// Keyboard: the first Tab from the page lands on a link with a visible
	// outline.
	run("tab", chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`), chromedp.KeyEvent("\t"))
	if !is(`(function () { var a = document.activeElement; return a && a !== document.body && getComputedStyle(a).outlineStyle !== 'none'; })()`) {
		t.Error("no visible focus after Tab")
	}
	page("1-upload")
	tb.follow("upload the netizen form", "#versions",
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{file}),
		chromedp.Click(chromedp.CSS("#upload")),
	)
	if got := text("p.notice"); !strings.Contains(got, "netizen_2019") {
		t.Errorf("after upload: %q", got)
	}
	page("2-versions")

	tb.follow("share", "#qr", chromedp.Click(chromedp.CSS(`a[href^="/console/forms/netizen_2019/share"]`)))
	if got := text("#share-link"); got != e.ts.URL+"/f/netizen_2019" {
		t.Errorf("share link %q", got)
	}
	// The image loads after the page has: wait for it rather than read
	// it once.
	if err := tb.poll(`(function () { var q = document.getElementById('qr'); return q.complete && q.naturalWidth > 0; })()`, 30*time.Second); err != nil {
		t.Errorf("the QR code did not load: %v", err)
	}
	page("3-share")

	tb.open("preview", e.ts.URL+"/console/forms/netizen_2019/preview", "#agree")
	run("agree", chromedp.Click(chromedp.CSS("#agree")), chromedp.WaitVisible(chromedp.CSS("#page-demo")))
	// Submitting the preview is stopped in the page and says so.
	run("submit the preview", chromedp.Evaluate[chromedp.Void](`document.getElementById('survey').requestSubmit()`))
	if got := text("#status"); got != "预览模式：未提交，未保存任何回答。" {
		t.Errorf("preview submit: status %q", got)
	}
	page("4-preview")
	if n, err := e.raw.CountResponses(t.Context(), "netizen_2019"); err != nil || n != 0 {
		t.Errorf("after the preview: %d responses stored, %v", n, err)
	}

	tb.open("collection", e.ts.URL+"/console/forms/netizen_2019/collection", "#total")
	if got := text("#total"); got != "0" {
		t.Fatalf("total before any response: %q", got)
	}
	run("mark the page", chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))
	page("5-collection-empty")

	// A respondent, in another tab.
	respondent := e.tab()
	fillNetizen(respondent, e.ts.URL, true, false, "隐私声明", "您的性别", "第 2 页，共 4 页", "此题为必答题。")

	// The designer's page sees it at its next poll, without reloading.
	if err := tb.poll(`document.getElementById('total').textContent === '1'`, 60*time.Second); err != nil {
		t.Fatalf("the live count did not change: total %q: %v", text("#total"), err)
	}
	if !is(`window.notReloaded === true`) {
		t.Error("the collection page was reloaded")
	}
	if got := text("#today"); got != "1" {
		t.Errorf("today %q", got)
	}
	// The respondent chose Zhejiang: the ranking follows.
	if err := tb.poll(`(function () { var l = document.querySelector('#provinces .rl'); return !!l && l.textContent === '浙江'; })()`, 30*time.Second); err != nil {
		t.Errorf("province ranking: %q: %v", text("#provinces"), err)
	}
	// form.js sent its start beacon when the respondent agreed: the
	// completion rate has a denominator.
	if err := tb.poll(`/%$/.test(document.getElementById('completion').textContent)`, 30*time.Second); err != nil {
		t.Errorf("completion rate: %q (%q): %v", text("#completion"), text("#completion-note"), err)
	}
	page("6-collection-live")

	// English, through the switcher.
	tb.follow("English", `html[lang="en"] #total`, chromedp.Click(chromedp.CSS("#lang-switch")))
	if got := text("h2"); got != "Collection" {
		t.Errorf("English heading %q", got)
	}
	page("7-collection-en")

	tb.noConsoleErrors()
	respondent.noConsoleErrors()
	t.Logf("screenshots in %s", e.art)
}

// TestBrowserAdmin walks the administration pages at phone width: an
// admin adds a user and makes a token, an auditor reads the log.
func TestBrowserAdmin(t *testing.T) {
	e := newConsoleRig(t, 3*time.Minute, Options{})
	admin := e.staff("admin", "/console/admin/users?lang=en", "#add-user")
	admin.page("1-users")
	admin.follow("add a user", "#user-li\\.na",
		chromedp.SendKeys(chromedp.CSS("#new-name"), "li.na"),
		chromedp.SendKeys(chromedp.CSS("#new-password"), staffPassword),
		chromedp.Click(chromedp.CSS("#new-analyst")),
		chromedp.Click(chromedp.CSS("#add-user button.primary")),
	)
	if got := admin.text("p.notice"); got != "User li.na added." {
		t.Errorf("after adding: %q", got)
	}
	admin.open("tokens", e.ts.URL+"/console/admin/tokens?lang=en", "#new-token")
	admin.follow("make a token", "#secret",
		chromedp.SetValue(chromedp.CSS("#t-owner"), "li.na"),
		chromedp.SendKeys(chromedp.CSS("#t-name"), "nightly export"),
		chromedp.Click(chromedp.CSS("#s-forms\\.read")),
		chromedp.Click(chromedp.CSS("#new-token button.primary")))
	if secret := admin.text("#secret"); !strings.HasPrefix(secret, "gst_") {
		t.Errorf("token shown: %q", secret)
	}
	admin.page("2-tokens")
	admin.open("keys", e.ts.URL+"/console/admin/keys", "#check")
	admin.page("3-keys")
	admin.noConsoleErrors()

	auditor := e.staff("auditor", "/console/admin/audit", "#audit")
	if got := auditor.text("#chain"); !strings.HasPrefix(got, "链校验通过") {
		t.Errorf("chain: %q", got)
	}
	// Only the filtered page has the option selected by the server: the
	// select's value that SetValue changes on the old page is not the
	// attribute.
	auditor.follow("filter", `#f-action option[value="tokens.create"][selected]`,
		chromedp.SetValue(chromedp.CSS("#f-action"), "tokens.create"),
		chromedp.Click(chromedp.CSS("form.filters button")))
	auditor.run("filtered log", chromedp.WaitVisible(chromedp.CSS("#audit")))
	if got := auditor.text("#audit tbody"); !strings.Contains(got, "owner=li.na") || strings.Contains(got, "users.change") {
		t.Errorf("filtered log: %q", got)
	}
	auditor.page("4-audit")
	auditor.noConsoleErrors()
}
