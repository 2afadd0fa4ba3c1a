package charts

import (
	"bytes"
	"context"
	"errors"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestPDFNeverDone: a page that never sets window.__chartsDone fails at the
// caller's deadline with an error naming the wait, and the renderer still
// works afterwards.
func TestPDFNeverDone(t *testing.T) {
	r := sharedRenderer(t)
	page := []byte(`<!doctype html><meta charset="utf-8"><script>window.__chartsDone = false;</script><p>永远画不完</p>`)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	_, err := r.PDF(ctx, page)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("PDF of a page that never finishes: %v, want context.DeadlineExceeded", err)
	}
	t.Logf("the error: %v", err)
	if !strings.Contains(err.Error(), "__chartsDone") {
		t.Errorf("error %q does not name the step (waiting for __chartsDone)", err)
	}
	opt := barOption(t, "之后", []string{"甲"}, []float64{1})
	if _, err := r.PNG(t.Context(), opt, 200, 100); err != nil {
		t.Errorf("PNG after a timed-out PDF: %v", err)
	}
	if _, err := r.PDF(t.Context(), reportPage(t, "")); err != nil {
		t.Errorf("PDF after a timed-out PDF: %v", err)
	}
}

// TestPDFLeftoverTimers: a page that timed out leaves a timer that throws;
// it must not fire in, and fail, the next page.
func TestPDFLeftoverTimers(t *testing.T) {
	r := sharedRenderer(t)
	first := []byte(`<!doctype html><meta charset="utf-8"><script>window.__chartsDone = false;
setTimeout(function () { throw new Error("leftover timer"); }, 1000);</script>`)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, err := r.PDF(ctx, first); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("first page: %v, want context.DeadlineExceeded", err)
	}
	// This page is still waiting for its charts when the old timer is due.
	second := []byte(`<!doctype html><meta charset="utf-8"><script>window.__chartsDone = false;
setTimeout(function () { window.__chartsDone = true; }, 1500);</script><p>第二页</p>`)
	if _, err := r.PDF(t.Context(), second); err != nil {
		t.Errorf("second page: %v", err)
	}
}

// TestNewRendererBounded: a "browser" that never answers, or that exits at
// once, makes NewRenderer fail with the step it was at and what the program
// printed, instead of blocking.
func TestNewRendererBounded(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the fake browsers are shell scripts")
	}
	tests := []struct {
		name     string
		script   string
		deadline bool // the error must wrap context.DeadlineExceeded
		want     []string
	}{
		{"never answers", "echo 'fake chromium: starting' >&2\nexec sleep 600\n", true,
			[]string{"launching the browser process", "no answer within", "fake chromium: starting"}},
		{"exits", "echo 'fake chromium: cannot open display' >&2\nexit 3\n", false,
			[]string{"launching the browser process", "fake chromium: cannot open display"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "chromium")
			if err := os.WriteFile(path, []byte("#!/bin/sh\n"+tt.script), 0o700); err != nil {
				t.Fatal(err)
			}
			t.Setenv(ChromiumEnv, path)
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			defer cancel()
			r, err := NewRenderer(ctx)
			if err == nil {
				r.Close()
				t.Fatal("NewRenderer succeeded")
			}
			t.Logf("the error: %v", err)
			if got := errors.Is(err, context.DeadlineExceeded); got != tt.deadline {
				t.Errorf("errors.Is(err, DeadlineExceeded) = %v, want %v; err: %v", got, tt.deadline, err)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

// TestChromedpNoise: chromedp's reports of events it cannot handle are
// dropped; anything else is logged and named in the next failure.
func TestChromedpNoise(t *testing.T) {
	var logged bytes.Buffer
	log.SetOutput(&logged)
	t.Cleanup(func() { log.SetOutput(os.Stderr) })

	r := &Renderer{output: &tailBuffer{max: 64}}
	r.chromedpError("received DOM.documentUpdated when there's no top-level frame")
	r.chromedpError("unhandled page event %T", struct{}{})
	r.chromedpError("could not unmarshal event: %v", errors.New(`unknown command or event "Page.newThing"`))
	if logged.Len() != 0 || r.details(true) != "" {
		t.Errorf("noise was reported: log %q, details %q", logged.String(), r.details(true))
	}
	r.chromedpError("could not retrieve document root for %s: %v", "F1", errors.New("pipe broken"))
	for _, s := range []string{logged.String(), r.details(true)} {
		if !strings.Contains(s, "could not retrieve document root for F1: pipe broken") {
			t.Errorf("a real error was not reported: %q", s)
		}
	}

	// A real browser printing a page: no chromedp report reaches the log.
	if os.Getenv("CI") == "" {
		if _, err := findChromium(); err != nil {
			t.Skip(err)
		}
	}
	br := sharedRenderer(t)
	logged.Reset()
	if _, err := br.PDF(t.Context(), reportPage(t, "")); err != nil {
		t.Fatal(err)
	}
	opt := barOption(t, "日志", []string{"甲"}, []float64{1})
	if _, err := br.PNG(t.Context(), opt, 200, 100); err != nil {
		t.Fatal(err)
	}
	if logged.Len() != 0 {
		t.Errorf("rendering logged:\n%s", logged.String())
	}
}

// TestCloseDuringCall: Close ends a call in progress (here one waiting on a
// page that never finishes, with no deadline of its own) at once.
func TestCloseDuringCall(t *testing.T) {
	r := newTestRenderer(t)
	page := []byte(`<!doctype html><meta charset="utf-8"><script>window.__chartsDone = false;</script>`)
	errc := make(chan error, 1)
	go func() {
		_, err := r.PDF(context.Background(), page)
		errc <- err
	}()
	// Close while the PDF waits; if Close ran first, PDF fails as closed.
	time.Sleep(500 * time.Millisecond)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	// A guard against a hang, not a speed requirement: PDF's own bound is
	// DefaultPDFTimeout, and the test must not need it.
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "closed") {
			t.Errorf("PDF during Close: %v, want an error saying the renderer was closed", err)
		}
	case <-time.After(DefaultPDFTimeout / 2):
		t.Fatal("PDF did not return after Close")
	}
}
