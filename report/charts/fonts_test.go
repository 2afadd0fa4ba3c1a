package charts

import (
	"context"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/css"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/chromedp"
)

// lookTool finds a program, with internal/browsertest's rule: skip on a
// developer's machine without it, fail in CI.
func lookTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "" {
		t.Skipf("%s not found; install Debian's %s to run this test", name, pkg)
	}
	t.Fatalf("CI is set but %s (Debian %s) is missing", name, pkg)
	return ""
}

// installedFamily asks fontconfig (with the system configuration) whether
// a family is installed.
func installedFamily(t *testing.T, family string) bool {
	t.Helper()
	out, err := exec.Command(lookTool(t, "fc-list", "fontconfig"), family, "family").Output()
	if err != nil {
		t.Fatalf("fc-list: %v", err)
	}
	return strings.TrimSpace(string(out)) != ""
}

// needCJKFonts skips (or, in CI, fails) a test when fonts-noto-cjk is not
// installed, and reports whether its serif face is.
func needCJKFonts(t *testing.T) (serif bool) {
	t.Helper()
	if !installedFamily(t, "Noto Sans CJK SC") {
		if os.Getenv("CI") == "" {
			t.Skip("Noto Sans CJK SC not installed (fonts-noto-cjk)")
		}
		t.Fatal("CI is set but Noto Sans CJK SC (fonts-noto-cjk) is missing")
	}
	return installedFamily(t, "Noto Serif CJK SC")
}

func writeFontConfig(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(SystemFontConfig); err != nil {
		t.Skipf("no system fontconfig configuration: %v", err)
	}
	path := filepath.Join(t.TempDir(), "fonts.conf")
	if err := os.WriteFile(path, FontConfig(SystemFontConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFontConfigAliases: with FontConfig's file (and nothing else changed),
// fontconfig resolves the office font names to the Noto CJK faces.
func TestFontConfigAliases(t *testing.T) {
	fcMatch := lookTool(t, "fc-match", "fontconfig")
	serifFace := "Noto Serif CJK SC"
	if !needCJKFonts(t) {
		serifFace = "Noto Sans CJK SC" // the stand-in's stand-in
	}
	conf := writeFontConfig(t)
	tests := []struct{ family, want string }{
		{"宋体", serifFace},
		{"SimSun", serifFace},
		{"仿宋_GB2312", serifFace},
		{"黑体", "Noto Sans CJK SC"},
		{"SimHei", "Noto Sans CJK SC"},
		{"微软雅黑", "Noto Sans CJK SC"},
	}
	for _, tt := range tests {
		t.Run(tt.family, func(t *testing.T) {
			cmd := exec.Command(fcMatch, tt.family, "family")
			cmd.Env = append(os.Environ(), "FONTCONFIG_FILE="+conf)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("fc-match: %v", err)
			}
			if got := strings.TrimSpace(string(out)); got != tt.want {
				t.Errorf("fc-match %s = %q, want %q", tt.family, got, tt.want)
			}
		})
	}
	// The file is well-formed XML whatever the names hold.
	if err := xml.Unmarshal(FontConfig(`/a&b<c>/fonts.conf`), new(struct{})); err != nil {
		t.Errorf("FontConfig with a path to escape: %v", err)
	}
}

// TestOfficeFontsInChromium: the Renderer's Chromium draws 宋体 text with
// the serif face and 黑体 text with the sans face, as Chromium itself
// reports (CSS.getPlatformFontsForNode). Each page lists the other generic
// family as the CSS fallback, so without the aliases each would get the
// wrong face.
func TestOfficeFontsInChromium(t *testing.T) {
	if os.Getenv("FONTCONFIG_FILE") != "" || os.Getenv("FONTCONFIG_PATH") != "" {
		t.Skip("FONTCONFIG_FILE or FONTCONFIG_PATH is set: the Renderer leaves fonts to it")
	}
	if !needCJKFonts(t) {
		t.Skip("Noto Serif CJK SC not installed: 宋体 and 黑体 would both be sans")
	}
	r := sharedRenderer(t)
	tests := []struct{ css, want string }{
		{`"宋体", sans-serif`, "Noto Serif CJK SC"},
		{`SimSun, sans-serif`, "Noto Serif CJK SC"},
		{`"黑体", serif`, "Noto Sans CJK SC"},
		{`SimHei, serif`, "Noto Sans CJK SC"},
	}
	for _, tt := range tests {
		t.Run(tt.css, func(t *testing.T) {
			page := `<!doctype html><html lang="zh-CN"><meta charset="utf-8"><body><p style='font-family: ` + tt.css + `'>网民安全感调查报告正文</p></body></html>`
			r.mu.Lock()
			r.chartPage = false
			err := chromedp.Do(r.tab, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				return setContent(ctx, page)
			}))
			// chromedp asks for the new document itself, which can
			// invalidate the node IDs of a concurrent request: try again.
			var fonts []*css.PlatformFontUsage
			for try := 0; err == nil && try < 5; try++ {
				fonts, err = platformFonts(r.tab, "p")
				if err != nil && strings.Contains(err.Error(), "Could not find node") {
					err = nil
					continue
				}
				break
			}
			r.mu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range fonts {
				got = append(got, f.FamilyName)
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("font-family: %s drew with %q, want only %q", tt.css, got, tt.want)
			}
		})
	}
}

// platformFonts returns the fonts Chromium used for the text of the first
// element matching selector.
func platformFonts(tab context.Context, selector string) ([]*css.PlatformFontUsage, error) {
	var fonts []*css.PlatformFontUsage
	err := chromedp.Do(tab, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		doc, err := cdp.Call(ctx, tg, dom.GetDocument, dom.GetDocumentParams{})
		if err != nil {
			return err
		}
		n, err := cdp.Call(ctx, tg, dom.QuerySelector, dom.QuerySelectorParams{NodeID: doc.Root.NodeID, Selector: selector})
		if err != nil {
			return err
		}
		res, err := cdp.Call(ctx, tg, css.GetPlatformFontsForNode, css.GetPlatformFontsForNodeParams{NodeID: n.NodeID})
		if err != nil {
			return err
		}
		fonts = res.Fonts
		return nil
	}))
	return fonts, err
}
