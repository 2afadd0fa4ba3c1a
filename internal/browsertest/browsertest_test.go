package browsertest

import (
	"bytes"
	"context"
	"log"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// TestChromedpError: chromedp's noise is dropped and anything else logged.
func TestChromedpError(t *testing.T) {
	var logged bytes.Buffer
	log.SetOutput(&logged)
	t.Cleanup(func() { log.SetOutput(os.Stderr) })

	chromedpError("received DOM.documentUpdated when there's no top-level frame")
	chromedpError("unhandled page event %T", struct{}{})
	if logged.Len() != 0 {
		t.Errorf("noise was logged: %q", logged.String())
	}
	chromedpError("could not retrieve document root for %s: %s", "F1", "pipe broken")
	if !strings.Contains(logged.String(), "could not retrieve document root for F1: pipe broken") {
		t.Errorf("a real report was not logged: %q", logged.String())
	}
}

// TestNewQuiet: a test that replaces the document of New's tab, with no
// navigation of its own, can query it, and chromedp logs nothing (without
// New's navigation it would not track the document and would log
// DOM.documentUpdated reports).
func TestNewQuiet(t *testing.T) {
	var logged bytes.Buffer
	log.SetOutput(&logged)
	t.Cleanup(func() { log.SetOutput(os.Stderr) })

	ctx := New(t, time.Minute)
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		tree, err := cdp.Call(ctx, t, page.GetFrameTree, cdp.Empty{})
		if err != nil {
			return err
		}
		_, err = cdp.Call(ctx, t, page.SetDocumentContent, page.SetDocumentContentParams{
			FrameID: tree.FrameTree.Frame.ID,
			HTML:    `<!doctype html><p id="x">quiet</p>`,
		})
		return err
	}))
	if err != nil {
		t.Fatalf("setting the document: %v", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#x")))
	if err != nil {
		t.Fatalf("reading #x: %v", err)
	}
	if text != "quiet" {
		t.Errorf("text %q, want %q", text, "quiet")
	}
	if logged.Len() != 0 {
		t.Errorf("chromedp logged:\n%s", logged.String())
	}
}
