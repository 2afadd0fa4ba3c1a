package cdpnoise

import (
	"errors"
	"fmt"
	"testing"

	"github.com/chromedp/cdproto/page"
)

// The messages are formatted as chromedp's target.go and browser.go format
// them, so a change of wording there shows here as a failing case.
func TestIs(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		want bool
	}{
		{"no top frame", "received DOM.documentUpdated when there's no top-level frame", true},
		{"unhandled page event", fmt.Sprintf("unhandled page event %T", &page.EventFrameSubtreeWillBeDetached{}), true},
		{"unhandled node event", fmt.Sprintf("unhandled node event %T", struct{}{}), true},
		{"unknown event", fmt.Sprintf("could not unmarshal event: %v", errors.New(`unknown command or event "Page.newThing"`)), true},
		{"document root", fmt.Sprintf("could not retrieve document root for %s: %v", "F1", errors.New("pipe broken")), false},
		{"malformed message", "ignoring malformed incoming message (missing id or method): {}", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Is(tt.msg); got != tt.want {
				t.Errorf("Is(%q) = %v, want %v", tt.msg, got, tt.want)
			}
		})
	}
}
