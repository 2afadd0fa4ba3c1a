package web

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
)

// Collection progress: counts from the store (every serve node shares
// it), shown on the collection page and refreshed by console.js from
// GET /api/v1/forms/{form_id}/progress.

// topProvinces is how many provinces the ranking shows.
const topProvinces = 10

// pollSeconds is how often the collection page asks for new numbers.
const pollSeconds = 5

// progress is the JSON of GET /api/v1/forms/{form_id}/progress.
type progress struct {
	FormID   string `json:"form_id"`
	Revision int    `json:"revision"`
	Total    int    `json:"total"`
	Today    int    `json:"today"`
	// Hourly counts the last 24 hours, oldest first; each starts at Hour.
	Hourly []hourCount `json:"hourly"`
	// MedianSeconds is the median time from start to end of the Timed
	// responses that have both; null when none has.
	MedianSeconds *float64 `json:"median_seconds"`
	Timed         int      `json:"timed"`
	// Starts counts respondents who passed the consent page over the
	// same 24 hours (the start beacon, console_starts.go), Submitted the
	// responses of those hours; CompletionRate is Submitted / Starts, null
	// without starts. It can pass 1: a submission whose start fell in an
	// earlier hour, or whose browser sent no beacon, counts all the same.
	Starts         int             `json:"starts"`
	Submitted      int             `json:"submitted"`
	CompletionRate *float64        `json:"completion_rate"`
	CompletionText string          `json:"completion_text"` // "62%", or "—"
	CompletionNote string          `json:"completion_note"` // "last 24 hours: 31 submitted / 50 started"
	HasProvince    bool            `json:"has_province"`
	Provinces      []provinceCount `json:"provinces"`
	ProvincesAsOf  time.Time       `json:"provinces_as_of"`
	UpdatedAt      time.Time       `json:"updated_at"`
	UpdatedText    string          `json:"updated_text"` // "14:05:09" in the collector's location
	// Words for the page's script, in the request's language.
	MedianText string `json:"median_text"`
	// Invitations and Quotas, in the settings' order (console_admission.go).
	Invitations invitationView `json:"invitations"`
	Quotas      []quotaView    `json:"quotas"`
}

type hourCount struct {
	Hour  time.Time `json:"hour"`
	Label string    `json:"label"` // "14:00" in the collector's location
	N     int       `json:"n"`
}

type provinceCount struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	N     int    `json:"n"`
	Pct   int    `json:"pct"` // of the largest, for the bar
}

// provinceCache keeps each form's province tally. A tally decodes every
// response, so it is redone only when the form's count of responses has
// changed (or maxAge has passed: a withdrawal and a new response leave
// the count alone), and not sooner than ten times as long as the last one
// took, between a quarter of a second and a minute: a quiet form's ranking follows
// each new response, a busy one's costs at most a tenth of a core.
type provinceCache struct {
	maxAge time.Duration
	mu     sync.Mutex
	m      map[string]provinceEntry
}

type provinceEntry struct {
	at     time.Time // when tallied
	next   time.Time // no new tally before
	total  int       // the form's count of responses when tallied
	counts map[string]int
}

// provinces tallies the province answers of a form's responses, decoding
// each with its own revision; total is the form's count now.
func (s *Server) provinces(ctx context.Context, pc *provinceCache, formID string, total int) (map[string]int, time.Time, error) {
	now := time.Now()
	pc.mu.Lock()
	e, ok := pc.m[formID]
	pc.mu.Unlock()
	if ok && (now.Before(e.next) || e.total == total && now.Sub(e.at) < pc.maxAge) {
		return e.counts, e.at, nil
	}
	counts := map[string]int{}
	err := s.st.EachResponse(ctx, store.ResponseFilter{FormID: formID}, func(r store.Response) error {
		f, err := s.forms.Revision(ctx, r.FormID, r.Revision)
		if err != nil {
			return err
		}
		if f.Question("province") == nil {
			return nil
		}
		a, err := f.DecodeAnswers(r.Answers)
		if err != nil {
			return err
		}
		if v := a["province"]; v != "" {
			counts[v]++
		}
		return nil
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	took := time.Since(now)
	pc.mu.Lock()
	if len(pc.m) > 1000 { // form ids come from the URL: keep the map small
		clear(pc.m)
	}
	pc.m[formID] = provinceEntry{at: now, next: now.Add(min(max(10*took, time.Second/4), time.Minute)), total: total, counts: counts}
	pc.mu.Unlock()
	return counts, now, nil
}

// progressOf gathers a form's progress in lang.
func (s *Server) progressOf(ctx context.Context, pc *provinceCache, formID, l string) (progress, error) {
	fv, f, err := s.forms.Latest(ctx, formID)
	if err != nil {
		return progress{}, err
	}
	s.starts.flushPending(ctx) // this node's starts count too
	// Days and hours in the collector's location, as schedules are read.
	loc := s.collector.Location()
	now := time.Now().In(loc)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	from := now.Truncate(time.Hour).Add(-23 * time.Hour)
	c, err := s.st.CollectionCounts(ctx, fv.FormID, store.CountsQuery{Since: midnight, HoursFrom: from, Hours: 24})
	if err != nil {
		return progress{}, err
	}
	T := pageWords(l)
	p := progress{FormID: fv.FormID, Revision: fv.Revision, Total: c.Total, Today: c.Since, Timed: c.Timed,
		Starts: c.Starts, CompletionText: "—", UpdatedAt: now.UTC(), UpdatedText: now.Format("15:04:05"), Provinces: []provinceCount{}}
	for i, n := range c.Hourly {
		h := from.Add(time.Duration(i) * time.Hour)
		p.Hourly = append(p.Hourly, hourCount{Hour: h.UTC(), Label: h.Format("15:04"), N: n})
		p.Submitted += n
	}
	if c.Starts > 0 {
		rate := float64(p.Submitted) / float64(c.Starts)
		p.CompletionRate = &rate
		p.CompletionText = fmt.Sprintf("%.0f%%", rate*100)
	}
	p.CompletionNote = fmt.Sprintf(T["completion_hours"], p.Submitted, p.Starts)
	p.MedianText = "—"
	if c.Timed > 0 {
		sec := c.MedianDuration.Seconds()
		p.MedianSeconds = &sec
		p.MedianText = durationText(c.MedianDuration, T)
	}
	if err := s.admissionProgress(ctx, &p, f, l); err != nil {
		return progress{}, err
	}
	q := f.Question("province")
	if q == nil {
		return p, nil
	}
	p.HasProvince = true
	counts, asOf, err := s.provinces(ctx, pc, fv.FormID, c.Total)
	if err != nil {
		return progress{}, err
	}
	p.ProvincesAsOf = asOf.UTC()
	labels := map[string]string{}
	for _, ch := range f.Choices[q.ListName] {
		labels[ch.Name] = ch.Label.In(l)
	}
	for name, n := range counts {
		label := labels[name]
		if label == "" {
			label = name
		}
		p.Provinces = append(p.Provinces, provinceCount{Name: name, Label: label, N: n})
	}
	slices.SortFunc(p.Provinces, func(a, b provinceCount) int {
		return cmp.Or(cmp.Compare(b.N, a.N), cmp.Compare(a.Name, b.Name))
	})
	p.Provinces = p.Provinces[:min(len(p.Provinces), topProvinces)]
	for i := range p.Provinces {
		p.Provinces[i].Pct = p.Provinces[i].N * 100 / p.Provinces[0].N
	}
	return p, nil
}

// durationText says d as "4 分钟 12 秒" / "4 min 12 s".
func durationText(d time.Duration, T map[string]string) string {
	sec := int(d.Round(time.Second).Seconds())
	if sec < 60 {
		return fmt.Sprintf("%d %s", sec, T["seconds"])
	}
	return fmt.Sprintf("%d %s %d %s", sec/60, T["minutes"], sec%60, T["seconds"])
}

// formProgress serves GET /api/v1/forms/{form_id}/progress.
func (s *Server) formProgress(w http.ResponseWriter, r *http.Request, _ security.Principal, pc *provinceCache) {
	p, err := s.progressOf(r.Context(), pc, r.PathValue("form_id"), apiLang(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, p)
}

// hourBar is one column of the hourly chart, in SVG units.
type hourBar struct {
	X, Y, H int
	hourCount
}

// chartHeight is the hourly chart's drawing height in SVG units.
const chartHeight = 100

func hourBars(hs []hourCount) []hourBar {
	top := 1
	for _, h := range hs {
		top = max(top, h.N)
	}
	out := make([]hourBar, len(hs))
	for i, h := range hs {
		bh := h.N * chartHeight / top
		out[i] = hourBar{X: i * 10, Y: chartHeight - bh, H: bh, hourCount: h}
	}
	return out
}

// consoleCollection serves GET /console/forms/{form_id}/collection.
func (s *Server) consoleCollection(w http.ResponseWriter, r *http.Request, p security.Principal, pc *provinceCache) {
	data, fv, _, ok := s.formPageData(w, r, p)
	if !ok {
		return
	}
	pr, err := s.progressOf(r.Context(), pc, fv.FormID, lang(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	T := data["T"].(map[string]string)
	data["Prog"] = pr
	data["Quotas"] = pr.Quotas // the quota table (console_admission.html)
	data["Bars"] = hourBars(pr.Hourly)
	data["ChartH"] = chartHeight
	data["Poll"] = pollSeconds * 1000
	data["ProvincesTitle"] = fmt.Sprintf(T["provinces"], topProvinces)
	data["ProvincesAsOf"] = T["provinces_asof"]
	data["Updated"] = pr.UpdatedText
	s.render(w, r, "console_collection.html", data)
}

// jsonString marshals v for a data- attribute.
func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("web: %w", err)
	}
	return string(b), nil
}
