package collect

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// Progress is how far a long import or export has got.
type Progress struct {
	Phase string // "checking" or "storing" (import), "exporting"
	Bytes int64  // bytes of the file read so far (import)
	Total int64  // bytes in the file; 0 when unknown
	Rows  int    // rows read or written so far
	Done  bool   // the last report of this phase
}

// progressInterval keeps progress reports to a few a second.
const progressInterval = 250 * time.Millisecond

// progressTicker calls fn at most every progressInterval.
type progressTicker struct {
	fn    func(Progress)
	total int64
	last  time.Time
	n     int
}

func (t *progressTicker) update(phase string, bytes int64, rows int) {
	if t.fn == nil {
		return
	}
	// Looking at the clock on every row would cost more than the report.
	if t.n++; t.n%64 != 0 {
		return
	}
	if now := time.Now(); now.Sub(t.last) >= progressInterval {
		t.last = now
		t.fn(Progress{Phase: phase, Bytes: bytes, Total: t.total, Rows: rows})
	}
}

func (t *progressTicker) done(phase string, bytes int64, rows int) {
	if t.fn == nil {
		return
	}
	t.fn(Progress{Phase: phase, Bytes: bytes, Total: t.total, Rows: rows, Done: true})
}

// TerminalProgress returns a Progress function that redraws one status line
// on w ("label: checking 12.5 / 48.0 MB (26%), 51200 rows") when w is a
// terminal, and does nothing otherwise, so piped output stays clean.
func TerminalProgress(w io.Writer, label string) func(Progress) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return func(Progress) {}
	}
	return func(p Progress) {
		line := fmt.Sprintf("%s: %s", label, p.Phase)
		if p.Total > 0 {
			line += fmt.Sprintf(" %.1f / %.1f MB (%d%%)", float64(p.Bytes)/1e6, float64(p.Total)/1e6, p.Bytes*100/p.Total)
		}
		line += fmt.Sprintf(", %d rows", p.Rows)
		// \x1b[K clears what a longer previous line left behind.
		fmt.Fprintf(w, "\r%s\x1b[K", line)
		if p.Done {
			fmt.Fprintln(w)
		}
	}
}
