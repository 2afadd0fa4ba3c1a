// Package sample makes synthetic responses for a form: the demo's sample
// data, the benchmarks' load, and test fixtures. Answers respect each
// question's type, choice list and relevance.
//
// Two generators: Generator draws endless responses at random, a small,
// configurable share of them carrying the faults cleaning must catch
// (duplicates, speeders, inconsistent answers), so every later step has
// something to find. Plan makes a data set whose answers match published
// distributions exactly (SeedPlan: the seed report's), with defects of
// known kinds and counts, so that cleaning and analysis can be checked
// against the numbers they must reproduce.
package sample

import (
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/form/expr"
)

// Response is one generated submission, in the shape of a CSV row.
type Response struct {
	InstanceID  string
	Started     time.Time
	Ended       time.Time
	SubmittedAt time.Time
	Client      string
	Answers     form.Answers
	// Reasons are the reason codes cleaning with default settings must
	// give the response (Plan only; nil for a valid one).
	Reasons []string
}

// Options tune a Generator. The zero value gives clean data.
type Options struct {
	Seed          uint64    // same seed, same responses
	Start         time.Time // first submission time; zero: 2019-07-01 08:00 UTC+8
	Interval      time.Duration
	DuplicateRate float64 // share of responses that repeat an earlier client and answers
	SpeederRate   float64 // share answered implausibly fast
}

// Generator makes responses for one form.
type Generator struct {
	f        *form.Form
	opts     Options
	rng      *rand.Rand
	fields   []*form.Question
	relevant map[string]*expr.Expr
	skew     map[string][]float64 // per choice list: cumulative weights, so tables look like a survey, not like noise
	n        int
	prev     []Response
}

// New returns a Generator for f. It fails only when a relevant expression
// cannot be parsed.
func New(f *form.Form, opts Options) (*Generator, error) {
	if opts.Start.IsZero() {
		opts.Start = time.Date(2019, 7, 1, 0, 0, 0, 0, time.UTC)
	}
	if opts.Interval <= 0 {
		opts.Interval = 7 * time.Second
	}
	g := &Generator{
		f:        f,
		opts:     opts,
		rng:      rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		fields:   f.Fields(),
		relevant: make(map[string]*expr.Expr),
		skew:     make(map[string][]float64),
	}
	// A question inside a group is relevant only when its groups are too.
	var walk func(qs []*form.Question, inherited []string) error
	walk = func(qs []*form.Question, inherited []string) error {
		for _, q := range qs {
			conds := inherited
			if q.Relevant != "" {
				conds = append(append([]string(nil), inherited...), "("+q.Relevant+")")
			}
			if q.IsGroup() {
				if err := walk(q.Children, conds); err != nil {
					return err
				}
				continue
			}
			if len(conds) == 0 {
				continue
			}
			e, err := expr.Parse(strings.Join(conds, " and "))
			if err != nil {
				return fmt.Errorf("sample: %s: relevant: %w", q.Name, err)
			}
			g.relevant[q.Name] = e
		}
		return nil
	}
	if err := walk(f.Survey, nil); err != nil {
		return nil, err
	}
	// Sorted, so that the same seed gives the same data: map order is random.
	for _, list := range slices.Sorted(maps.Keys(f.Choices)) {
		g.skew[list] = skewWeights(len(f.Choices[list]), g.rng)
	}
	return g, nil
}

// skewWeights returns cumulative weights for n choices, decreasing roughly
// geometrically with some noise, in a shuffled order.
func skewWeights(n int, rng *rand.Rand) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = math.Pow(0.6, float64(i)) * (0.7 + 0.6*rng.Float64())
	}
	rng.Shuffle(n, func(i, j int) { w[i], w[j] = w[j], w[i] })
	var sum float64
	for i := range w {
		sum += w[i]
		w[i] = sum
	}
	for i := range w {
		w[i] /= sum
	}
	return w
}

// Next returns the next response.
func (g *Generator) Next() Response {
	g.n++
	submitted := g.opts.Start.Add(time.Duration(g.n) * g.opts.Interval)
	if len(g.prev) > 0 && g.rng.Float64() < g.opts.DuplicateRate {
		p := g.prev[g.rng.IntN(len(g.prev))]
		p.InstanceID = g.instanceID()
		p.SubmittedAt = submitted
		dur := p.Ended.Sub(p.Started)
		p.Ended = submitted.Add(-time.Duration(g.rng.IntN(20)) * time.Second)
		p.Started = p.Ended.Add(-dur)
		return p
	}
	r := Response{
		InstanceID:  g.instanceID(),
		SubmittedAt: submitted,
		Client:      fmt.Sprintf("c%016x", g.rng.Uint64()),
		Answers:     g.answers(),
	}
	// Durations around five minutes, log-normal, as real questionnaires.
	secs := math.Exp(5.7 + 0.45*g.rng.NormFloat64())
	if g.rng.Float64() < g.opts.SpeederRate {
		secs = 15 + 20*g.rng.Float64()
	}
	r.Ended = submitted.Add(-time.Duration(g.rng.IntN(20)) * time.Second)
	r.Started = r.Ended.Add(-time.Duration(secs * float64(time.Second)))
	if len(g.prev) < 64 {
		g.prev = append(g.prev, r)
	} else {
		g.prev[g.rng.IntN(len(g.prev))] = r
	}
	return r
}

func (g *Generator) instanceID() string {
	a, b := g.rng.Uint64(), g.rng.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, a>>16&0xffff, a&0xfff, b>>48&0x3fff|0x8000, b&0xffffffffffff)
}

func (g *Generator) answers() form.Answers {
	a := make(form.Answers, len(g.fields))
	env := answersEnv{a: a}
	for _, q := range g.fields {
		if e, ok := g.relevant[q.Name]; ok && !e.Eval(env).Bool() {
			continue
		}
		if v := g.value(q); v != "" {
			a[q.Name] = v
		}
	}
	return a
}

func (g *Generator) pick(list string) string {
	cs := g.f.Choices[list]
	if len(cs) == 0 {
		return ""
	}
	w := g.skew[list]
	x := g.rng.Float64()
	for i, c := range w {
		if x < c {
			return cs[i].Name
		}
	}
	return cs[len(cs)-1].Name
}

func (g *Generator) value(q *form.Question) string {
	switch q.Type {
	case "select_one":
		return g.pick(q.ListName)
	case "select_multiple":
		cs := g.f.Choices[q.ListName]
		var names []string
		for i, c := range cs {
			// Earlier choices are picked more often, like real answers.
			if g.rng.Float64() < 0.55*math.Pow(0.85, float64(i)) {
				names = append(names, c.Name)
			}
		}
		if len(names) == 0 && len(cs) > 0 {
			names = append(names, g.pick(q.ListName))
		}
		return strings.Join(names, " ")
	case "integer":
		return strconv.Itoa(g.rng.IntN(100))
	case "decimal", "range":
		return strconv.FormatFloat(math.Round(g.rng.Float64()*10000)/100, 'f', -1, 64)
	case "text":
		if q.Required || g.rng.Float64() < 0.3 {
			return sampleTexts[g.rng.IntN(len(sampleTexts))]
		}
	case "date", "today":
		return g.opts.Start.AddDate(0, 0, -g.rng.IntN(365)).Format("2006-01-02")
	case "acknowledge":
		return "OK"
	}
	// Calculations, files, locations and metadata are left unanswered.
	return ""
}

var sampleTexts = []string{"无", "希望加强个人信息保护", "网上办事更方便了", "no comment", "建议简化流程"}

// answersEnv lets relevance see the answers generated so far.
type answersEnv struct{ a form.Answers }

func (e answersEnv) Value(name string) (string, bool) { return e.a[name], true }
func (e answersEnv) Current() string                  { return "" }
func (e answersEnv) Now() time.Time                   { return time.Date(2019, 7, 1, 0, 0, 0, 0, time.UTC) }

// WriteCSV writes n generated responses as a CONTRACTS.md §2 file (with
// the client column), for imports in benchmarks and tests.
func (g *Generator) WriteCSV(w io.Writer, n int) error {
	cw := csv.NewWriter(w)
	header := []string{"instance_id", "started", "ended", "submitted_at", "client"}
	for _, q := range g.fields {
		header = append(header, q.Name)
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	row := make([]string, len(header))
	for range n {
		r := g.Next()
		row[0] = r.InstanceID
		row[1] = r.Started.Format(time.RFC3339)
		row[2] = r.Ended.Format(time.RFC3339)
		row[3] = r.SubmittedAt.Format(time.RFC3339)
		row[4] = r.Client
		for i, q := range g.fields {
			row[5+i] = r.Answers[q.Name]
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
