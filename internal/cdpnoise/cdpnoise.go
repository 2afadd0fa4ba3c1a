// Package cdpnoise tells chromedp's harmless reports from real ones.
//
// chromedp reports what it cannot handle outside any call, through the
// function given by chromedp.WithErrorf (by default it logs each with
// "ERROR:"). Part of that is noise for govsurvey: events that chromedp's
// protocol tables do not know (Debian's Chromium is newer than them), and
// DOM.documentUpdated for a tab whose top frame chromedp has not learnt
// (chromedp learns it only from a navigation, and a browser's first tab has
// navigated before chromedp listens). The chart renderer and the browser
// tests share this one list so that they drop the same reports.
package cdpnoise

import "strings"

// noise holds substrings of chromedp's reports that say nothing is wrong.
var noise = []string{
	"received DOM.documentUpdated when there's no top-level frame",
	"unhandled page event",
	"unhandled node event",
	"unknown command or event",
	"could not unmarshal event",
}

// Is reports whether msg, one of chromedp's reports (formatted), is noise.
func Is(msg string) bool {
	for _, n := range noise {
		if strings.Contains(msg, n) {
			return true
		}
	}
	return false
}
