package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/govsurvey/govsurvey/report"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
)

// The live dashboard (issue #8 part 6): the report's charts, computed from
// the data as it is now and redrawn by console.js every few seconds while
// collection runs. Every figure is unweighted and without the earlier
// wave; its responses are the valid ones of the last cleaning run (new
// responses since count as valid until the next run), or, for a form
// never cleaned, every response. The numbers come from the store, so
// every node shows the same.

const (
	// dashPollMillis is how often the dashboard asks for new options.
	dashPollMillis = 10000
	// dashMaxAge bounds how long figures are kept while neither the count
	// of responses nor the cleaning has changed (a withdrawal and a new
	// response leave the count alone).
	dashMaxAge = 5 * time.Minute
	// dashTimeout bounds one computation.
	dashTimeout = 2 * time.Minute
)

// dashboard is the JSON of GET /api/v1/forms/{form_id}/dashboard.
type dashboard struct {
	FormID string `json:"form_id"`
	Title  string `json:"title"`
	// Basis is "valid" (the last cleaning's valid responses) or "all"
	// (the form was never cleaned); BasisText says it in the language.
	Basis     string       `json:"basis"`
	BasisText string       `json:"basis_text"`
	Collected int          `json:"collected"`
	Valid     int          `json:"valid"`
	Figures   []dashFigure `json:"figures"`
	// ComputedAt is when the figures were computed from the store.
	ComputedAt   time.Time `json:"computed_at"`
	ComputedText string    `json:"computed_text"` // "14:05:09" in the collector's location
}

// dashFigure is one chart: its caption and ECharts option.
type dashFigure struct {
	ID      string          `json:"id"`
	Caption string          `json:"caption"`
	Tall    bool            `json:"tall"`
	Option  json.RawMessage `json:"option"`
}

// dashCache keeps each form's figures per language. A computation reads
// every response, so it is redone only when the form's count of responses
// or its cleaning has changed (or dashMaxAge has passed), and, for new
// responses, not sooner than ten times as long as the last one took (at
// least two seconds):
// pollers of a busy form cost a node at most a tenth of a core, and
// concurrent polls wait for one computation instead of starting their own.
type dashCache struct {
	mu sync.Mutex
	m  map[string]*dashEntry // form id + "/" + language
}

type dashEntry struct {
	mu        sync.Mutex // held while computing
	at, next  time.Time
	total     int
	cleanedAt time.Time
	data      dashboard
	ok        bool
}

func newDashCache() *dashCache { return &dashCache{m: map[string]*dashEntry{}} }

func (dc *dashCache) entry(key string) *dashEntry {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	e, ok := dc.m[key]
	if !ok {
		if len(dc.m) > 1000 { // form ids come from the URL: keep the map small
			clear(dc.m)
		}
		e = &dashEntry{}
		dc.m[key] = e
	}
	return e
}

// dashboardOf returns a form's figures in lang, from the cache when they
// are still current.
func (s *Server) dashboardOf(ctx context.Context, dc *dashCache, formID, lang string) (dashboard, error) {
	fv, f, err := s.forms.Latest(ctx, formID)
	if err != nil {
		return dashboard{}, err
	}
	total, err := s.st.CountResponses(ctx, fv.FormID)
	if err != nil {
		return dashboard{}, err
	}
	var cleanedAt time.Time
	switch c, err := s.st.Cleaning(ctx, fv.FormID); {
	case err == nil:
		cleanedAt = c.CleanedAt
	case !errors.Is(err, store.ErrNotFound):
		return dashboard{}, err
	}
	e := dc.entry(fv.FormID + "/" + lang)
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	// A new cleaning run is shown at once; new responses wait for next.
	if e.ok && e.cleanedAt.Equal(cleanedAt) && (now.Before(e.next) || e.total == total && now.Sub(e.at) < dashMaxAge) {
		return e.data, nil
	}
	// The computation outlives a poller that gives up: the next one gets it.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dashTimeout)
	defer cancel()
	T := pageWords(lang)
	d := dashboard{FormID: fv.FormID, Title: f.Title, Basis: "valid", BasisText: T["dash_basis_valid"], Figures: []dashFigure{},
		ComputedAt: now.UTC(), ComputedText: now.In(s.collector.Location()).Format("15:04:05")}
	if cleanedAt.IsZero() {
		d.Basis, d.BasisText = "all", T["dash_basis_all"]
	}
	if total == 0 { // nothing to chart, and nothing to analyse
		e.at, e.next, e.total, e.cleanedAt, e.data, e.ok = now, now, total, cleanedAt, d, true
		return d, nil
	}
	def, err := report.DefinitionFor(f)
	if err != nil {
		return dashboard{}, err
	}
	def.Weighting = nil // unweighted: the margins are for the final report
	rep, err := report.Build(cctx, report.Inputs{Store: uncleanedAsAll{s.st}, Form: f, Definition: def, Lang: lang})
	if err != nil {
		return dashboard{}, err
	}
	d.Collected, d.Valid = rep.Funnel.Collected, rep.Funnel.Valid
	for _, fig := range rep.Figures() {
		if !fig.Chart() {
			continue
		}
		d.Figures = append(d.Figures, dashFigure{ID: fig.ID, Caption: fig.Caption(), Tall: tallFigure(fig), Option: fig.Option()})
	}
	took := time.Since(now)
	e.at, e.next, e.total, e.cleanedAt, e.data, e.ok = now, now.Add(max(10*took, 2*time.Second)), total, cleanedAt, d, true
	return d, nil
}

// tallFigure: charts with many categories down the side get more height,
// as the report page gives them.
func tallFigure(f *report.Figure) bool {
	switch f.Kind {
	case report.KindRanked, report.KindStacked:
		return true
	case report.KindHBar:
		return len(f.Table.Rows) > 10
	}
	return false
}

// uncleanedAsAll reads a form that was never cleaned as if a cleaning run
// had flagged nothing, so that the dashboard of a form still collecting,
// before its first cleaning, shows every response. A cleaned form reads as
// it is.
type uncleanedAsAll struct{ store.Store }

func (u uncleanedAsAll) Cleaning(ctx context.Context, formID string) (store.Cleaning, error) {
	c, err := u.Store.Cleaning(ctx, formID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Cleaning{FormID: formID}, nil
	}
	return c, err
}

// dashboardAPI serves GET /api/v1/forms/{form_id}/dashboard.
func (s *Server) dashboardAPI(w http.ResponseWriter, r *http.Request, _ security.Principal, dc *dashCache) {
	d, err := s.dashboardOf(r.Context(), dc, r.PathValue("form_id"), apiLang(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, d)
}

// consoleDashboard serves GET /console/forms/{form_id}/dashboard: the
// page's charts are drawn by console.js from the JSON above.
func (s *Server) consoleDashboard(w http.ResponseWriter, r *http.Request, p security.Principal) {
	data, _, _, ok := s.formPageData(w, r, p)
	if !ok {
		return
	}
	data["Poll"] = dashPollMillis
	s.render(w, r, "console_dashboard.html", data)
}
