package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/store"
)

// The start beacon, for the collection page's completion rate: form.js
// posts once per page load, when the respondent passes the consent page,
// a body of nothing but a random id of that page load. The server keeps a
// count per form and per hour, nothing else: no address, no cookie, no
// id. A node adds its starts up in memory and writes them to the store's
// counters (an increment, so nodes add theirs) at most every few seconds,
// and when it closes; a crash loses those few seconds of starts.

const (
	// startFlushEvery is how long starts may wait in a node's memory.
	startFlushEvery = 5 * time.Second
	// maxStartBody bounds the beacon's body: {"page":"<id>"}.
	maxStartBody = 256
	// maxSeenPages bounds the page ids a node remembers within an hour
	// (to count a repeated beacon of one page load once); beyond it the
	// hour's ids are forgotten.
	maxSeenPages = 200000
)

// startCounter is a node's starts not yet in the store.
type startCounter struct {
	st    store.Store
	log   func(msg string, args ...any)
	limit *collect.Limiter

	mu       sync.Mutex
	pending  map[startKey]int
	last     time.Time // last write to the store
	seen     map[string]bool
	seenHour time.Time
}

type startKey struct {
	form string
	hour time.Time
}

func newStartCounter(st store.Store, log func(string, ...any)) *startCounter {
	return &startCounter{
		st: st, log: log,
		// The submissions' address limit (collect.Options.IPLimit's
		// default), on a limiter of its own: a beacon must not spend a
		// respondent's submission.
		limit:   collect.NewLimiter(1, 60, 0),
		pending: map[startKey]int{}, seen: map[string]bool{}, last: time.Now(),
	}
}

// add counts one start of formID by the page load page; a page load
// counts once within the hour.
func (sc *startCounter) add(ctx context.Context, formID, page string, now time.Time) {
	hour := now.UTC().Truncate(time.Hour)
	sc.mu.Lock()
	if !hour.Equal(sc.seenHour) || len(sc.seen) >= maxSeenPages {
		clear(sc.seen)
		sc.seenHour = hour
	}
	key := formID + "\x00" + page
	if !sc.seen[key] {
		sc.seen[key] = true
		sc.pending[startKey{formID, hour}]++
	}
	due := now.Sub(sc.last) >= startFlushEvery
	sc.mu.Unlock()
	if due {
		sc.flush(ctx, now)
	}
}

// flush writes the pending starts to the store; on failure they stay
// pending for the next flush.
func (sc *startCounter) flush(ctx context.Context, now time.Time) {
	sc.mu.Lock()
	if len(sc.pending) == 0 {
		sc.last = now
		sc.mu.Unlock()
		return
	}
	batch := make([]store.StartCount, 0, len(sc.pending))
	for k, n := range sc.pending {
		batch = append(batch, store.StartCount{FormID: k.form, Hour: k.hour, N: n})
	}
	clear(sc.pending)
	sc.last = now
	sc.mu.Unlock()
	if err := sc.st.AddStarts(context.WithoutCancel(ctx), batch); err != nil {
		sc.log("starts not stored; kept for the next try", "starts", len(batch), "err", err)
		sc.mu.Lock()
		for _, c := range batch {
			sc.pending[startKey{c.FormID, c.Hour}] += c.N
		}
		sc.mu.Unlock()
	}
}

// flushPending writes this node's pending starts now: the collection
// page calls it, so that what it shows includes them (a staff member's
// poll, every few seconds, writes at most one small batch).
func (sc *startCounter) flushPending(ctx context.Context) {
	sc.mu.Lock()
	has := len(sc.pending) > 0
	sc.mu.Unlock()
	if has {
		sc.flush(ctx, time.Now())
	}
}

// Close writes the pending starts (Server.Close calls it).
func (sc *startCounter) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sc.flush(ctx, time.Now())
}

// pageIDOK: the id form.js makes (a UUID), or anything as plain and short.
func pageIDOK(id string) bool {
	if len(id) < 8 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}

// formStart serves POST /api/v1/forms/{form_id}/starts: 204 once counted,
// 404 for no such form, 403 when the form is closed, 429 when the address
// sends too many.
func (s *Server) formStart(w http.ResponseWriter, r *http.Request, sc *startCounter) {
	if ok, wait := sc.limit.Allow(s.clientAddr(r).String(), time.Now()); !ok {
		s.tooMany(w, wait)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxStartBody))
	var b struct {
		Page string `json:"page"`
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		s.writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the body is at most 256 bytes", "")
		return
	case err != nil || json.Unmarshal(body, &b) != nil || !pageIDOK(b.Page):
		s.writeError(w, http.StatusBadRequest, "bad_request", `the body is {"page":"<a random id of the page load>"}`, "page")
		return
	}
	fv, f, err := s.forms.Latest(r.Context(), r.PathValue("form_id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.collector.Open(f); err != nil {
		s.fail(w, r, err)
		return
	}
	sc.add(r.Context(), fv.FormID, b.Page, time.Now())
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
