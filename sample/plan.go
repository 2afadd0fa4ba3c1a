package sample

import (
	"context"
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
	"github.com/govsurvey/govsurvey/store"
)

// Defects are the invalid responses a Plan injects, by kind. Each kind
// breaks exactly the rules named, with the default cleaning settings.
type Defects struct {
	Duplicates           int // a valid response again: same client and answers, later, new instance id → duplicate
	Speeders             int // complete and consistent, answered in 10–40 s → speeding
	Inconsistent         int // one checks row false, round robin over the checks → consistency:<name>
	Incomplete           int // one required, always relevant question unanswered → incomplete
	InvalidValues        int // one select_one answered with a name not in its list → invalid_value
	SpeedingInconsistent int // both speeding and one consistency:<name>
}

// Total is the number of injected responses.
func (d Defects) Total() int {
	return d.Duplicates + d.Speeders + d.Inconsistent + d.Incomplete + d.InvalidValues + d.SpeedingInconsistent
}

// Plan describes a generated data set: exactly Valid responses that pass
// every default cleaning rule and whose answers have exactly the Targets'
// distributions, plus Defects, interleaved in submission order.
type Plan struct {
	FormID   string
	Valid    int
	Targets  []Target
	Defects  Defects
	Seed     uint64        // same plan, same seed: the same responses
	Start    time.Time     // the first submission; zero: 2019-07-01 08:00 UTC+8
	Interval time.Duration // between submissions; zero: 5 s
}

// Collected is the number of responses the plan generates.
func (p Plan) Collected() int { return p.Valid + p.Defects.Total() }

// Durations: every response but a speeder takes 150–450 s and a speeder
// 10–40 s. With speeders under half of the responses, the median lies in
// [150 s, 450 s], so 0.3 × median lies in [45 s, 135 s]: every speeder is
// below it and nobody else is, whatever the random draws.
const (
	minDuration, maxDuration = 150 * time.Second, 450 * time.Second
	minSpeeder, maxSpeeder   = 10 * time.Second, 40 * time.Second
)

type eventKind uint8

const (
	evValid eventKind = iota
	evDuplicate
	evSpeeder
	evInconsistent
	evIncomplete
	evInvalid
	evSpeedingInconsistent
)

// planner holds what generation needs of the form.
type planner struct {
	p       Plan
	f       *form.Form
	rng     *rand.Rand
	fields  []*form.Question
	pos     map[string]int
	rel     [][]*expr.Expr // per field: its and its groups' relevant expressions
	checks  []planCheck
	targets map[string][]Share
	// groups: per field with targets By a select_one, that field's
	// position and the shares per group (a choice of it).
	groups map[string]groupTargets
	// free fields: required select_one questions, always relevant, that no
	// relevant or check expression reads; blanking or spoiling one breaks
	// exactly one rule.
	free []int
	// swappable fields: select_one questions no relevant expression reads;
	// swapping their values between two responses keeps every marginal.
	swappable map[int]bool
}

type groupTargets struct {
	by     int
	shares map[string][]Share
}

type planCheck struct {
	name string
	e    *expr.Expr
	refs []int // positions of the select_one fields it reads
}

// rowEnv reads one response's answers out of the column store.
type rowEnv struct {
	cols [][]string
	pos  map[string]int
	row  int
	now  time.Time
}

func (e *rowEnv) Value(name string) (string, bool) {
	i, ok := e.pos[name]
	if !ok {
		return "", false
	}
	return e.cols[i][e.row], true
}
func (e *rowEnv) Current() string { return "" }
func (e *rowEnv) Now() time.Time  { return e.now }

func newPlanner(f *form.Form, p Plan) (*planner, error) {
	if p.Start.IsZero() {
		p.Start = time.Date(2019, 7, 1, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))
	}
	if p.Interval <= 0 {
		p.Interval = 5 * time.Second
	}
	if p.Valid < 1 {
		return nil, fmt.Errorf("sample: a plan needs at least one valid response")
	}
	if s := p.Defects.Speeders + p.Defects.SpeedingInconsistent; 2*s >= p.Collected() {
		return nil, fmt.Errorf("sample: %d speeders of %d responses: the median would be a speeder's", s, p.Collected())
	}
	pl := &planner{
		p: p, f: f,
		rng:       rand.New(rand.NewPCG(p.Seed, p.Seed^0x2545f4914f6cdd1d)),
		fields:    f.Fields(),
		pos:       make(map[string]int),
		targets:   make(map[string][]Share),
		groups:    make(map[string]groupTargets),
		swappable: make(map[int]bool),
	}
	for i, q := range pl.fields {
		if _, dup := pl.pos[q.Name]; !dup {
			pl.pos[q.Name] = i
		}
	}
	for _, t := range p.Targets {
		i, ok := pl.pos[t.Field]
		if !ok {
			return nil, fmt.Errorf("sample: target for %q, which form %s does not have", t.Field, f.ID)
		}
		for _, s := range t.Shares {
			if _, ok := f.Choice(pl.fields[i].ListName, s.Choice); !ok {
				return nil, fmt.Errorf("sample: target %s: %q is not a choice of list %s", t.Field, s.Choice, pl.fields[i].ListName)
			}
		}
		if t.By == "" {
			pl.targets[t.Field] = t.Shares
			continue
		}
		b, ok := pl.pos[t.By]
		switch {
		case !ok || pl.fields[b].Type != "select_one":
			return nil, fmt.Errorf("sample: target %s by %q: not a select_one of form %s", t.Field, t.By, f.ID)
		case b >= i:
			return nil, fmt.Errorf("sample: target %s by %s: %s must come first in the form", t.Field, t.By, t.By)
		}
		if _, ok := f.Choice(pl.fields[b].ListName, t.Group); !ok {
			return nil, fmt.Errorf("sample: target %s by %s: %q is not a choice of list %s", t.Field, t.By, t.Group, pl.fields[b].ListName)
		}
		g, ok := pl.groups[t.Field]
		if !ok {
			g = groupTargets{by: b, shares: map[string][]Share{}}
			pl.groups[t.Field] = g
		}
		if g.by != b {
			return nil, fmt.Errorf("sample: targets for %s by both %s and %s", t.Field, pl.fields[g.by].Name, t.By)
		}
		if _, dup := g.shares[t.Group]; dup {
			return nil, fmt.Errorf("sample: two targets for %s where %s is %s", t.Field, t.By, t.Group)
		}
		g.shares[t.Group] = t.Shares
	}
	readByRelevance := map[string]bool{}
	pl.rel = make([][]*expr.Expr, len(pl.fields))
	var walk func(qs []*form.Question, inherited []*expr.Expr) error
	walk = func(qs []*form.Question, inherited []*expr.Expr) error {
		for _, q := range qs {
			rel := inherited
			if q.Relevant != "" {
				e, err := expr.Parse(q.Relevant)
				if err != nil {
					return fmt.Errorf("sample: %s: relevant: %w", q.Name, err)
				}
				for _, r := range e.Refs() {
					readByRelevance[r] = true
				}
				rel = append(slices.Clone(inherited), e)
			}
			if q.IsGroup() {
				if err := walk(q.Children, rel); err != nil {
					return err
				}
				continue
			}
			if i, ok := pl.pos[q.Name]; ok && pl.fields[i] == q {
				pl.rel[i] = rel
			}
		}
		return nil
	}
	if err := walk(f.Survey, nil); err != nil {
		return nil, err
	}
	readByChecks := map[string]bool{}
	for _, c := range f.Checks {
		e, err := expr.Parse(c.Expression)
		if err != nil {
			return nil, fmt.Errorf("sample: check %s: %w", c.Name, err)
		}
		pc := planCheck{name: c.Name, e: e}
		for _, r := range e.Refs() {
			readByChecks[r] = true
			if i, ok := pl.pos[r]; ok && pl.fields[i].Type == "select_one" {
				pc.refs = append(pc.refs, i)
			}
		}
		pl.checks = append(pl.checks, pc)
	}
	// Repairs swap the values of the fields checks read between responses,
	// which would move answers between groups.
	for field, g := range pl.groups {
		for _, name := range []string{field, pl.fields[g.by].Name} {
			if readByChecks[name] {
				return nil, fmt.Errorf("sample: targets for %s by group: check reads %s", field, name)
			}
		}
	}
	for i, q := range pl.fields {
		if q.Type != "select_one" || readByRelevance[q.Name] {
			continue
		}
		pl.swappable[i] = true
		if q.Required && len(pl.rel[i]) == 0 && !readByChecks[q.Name] {
			pl.free = append(pl.free, i)
		}
	}
	d := p.Defects
	if d.Incomplete+d.InvalidValues > 0 && len(pl.free) == 0 {
		return nil, fmt.Errorf("sample: form %s has no required select_one outside every expression to spoil", f.ID)
	}
	if d.Inconsistent+d.SpeedingInconsistent > 0 && len(pl.checks) == 0 {
		return nil, fmt.Errorf("sample: form %s has no checks to break", f.ID)
	}
	return pl, nil
}

// Generate calls fn with the plan's responses in submission order. The
// responses' Reasons say what cleaning with default settings must find.
// Memory is one string per answer of the valid responses (a few tens of
// megabytes at the seed's full size).
func (p Plan) Generate(f *form.Form, fn func(Response) error) error {
	pl, err := newPlanner(f, p)
	if err != nil {
		return err
	}
	cols, err := pl.validColumns()
	if err != nil {
		return err
	}
	return pl.emit(cols, fn)
}

// validColumns draws the valid responses' answers, one column per field,
// with exact target counts, then swaps values between responses until
// every check holds: a swap keeps every column's counts.
func (pl *planner) validColumns() ([][]string, error) {
	n := pl.p.Valid
	cols := make([][]string, len(pl.fields))
	for i := range cols {
		cols[i] = make([]string, n)
	}
	env := &rowEnv{cols: cols, pos: pl.pos, now: pl.p.Start}
	for i, q := range pl.fields {
		var base []int
		for row := range n {
			env.row = row
			if holds(pl.rel[i], env) {
				base = append(base, row)
			}
		}
		if err := pl.fillGroups(q, cols, base); err != nil {
			return nil, err
		}
	}
	for row := range n {
		if err := pl.repair(cols, row, env); err != nil {
			return nil, err
		}
	}
	return cols, nil
}

func holds(rel []*expr.Expr, env expr.Env) bool {
	for _, e := range rel {
		if !e.EvalBool(env) {
			return false
		}
	}
	return true
}

// sharesOf is a question's target, or illustrative shares decreasing
// geometrically down its list when the seed gives none.
func (pl *planner) sharesOf(q *form.Question) []Share {
	if s, ok := pl.targets[q.Name]; ok {
		return s
	}
	list := pl.f.Choices[q.ListName]
	out := make([]Share, len(list))
	for j, c := range list {
		p := 100 * math.Pow(0.6, float64(j))
		if q.Type == "select_multiple" {
			p = 50 * math.Pow(0.85, float64(j))
		}
		out[j] = Share{c.Name, p}
	}
	return out
}

// fillGroups answers question q for the responses in base: those in a
// group with a target of its own by that target, the rest by q's.
func (pl *planner) fillGroups(q *form.Question, cols [][]string, base []int) error {
	i := pl.pos[q.Name]
	g, ok := pl.groups[q.Name]
	if !ok {
		return pl.fill(q, pl.sharesOf(q), cols[i], base)
	}
	parts := map[string][]int{}
	var rest []int
	for _, row := range base {
		v := cols[g.by][row]
		if _, ok := g.shares[v]; ok {
			parts[v] = append(parts[v], row)
		} else {
			rest = append(rest, row)
		}
	}
	// Sorted, so that the same seed gives the same data.
	for _, v := range slices.Sorted(maps.Keys(parts)) {
		if err := pl.fill(q, g.shares[v], cols[i], parts[v]); err != nil {
			return err
		}
	}
	return pl.fill(q, pl.sharesOf(q), cols[i], rest)
}

// fill answers question q for the responses in base by shares, exactly.
func (pl *planner) fill(q *form.Question, shares []Share, col []string, base []int) error {
	if len(base) == 0 {
		return nil
	}
	switch q.Type {
	case "select_one":
		weights := make([]float64, len(shares))
		for j, s := range shares {
			weights[j] = s.Percent
		}
		counts := largestRemainder(len(base), weights)
		vals := make([]string, 0, len(base))
		for j, c := range counts {
			for range c {
				vals = append(vals, shares[j].Choice)
			}
		}
		pl.rng.Shuffle(len(vals), func(a, b int) { vals[a], vals[b] = vals[b], vals[a] })
		for k, row := range base {
			col[row] = vals[k]
		}
	case "select_multiple":
		return pl.fillMultiple(q, shares, col, base)
	default:
		for _, row := range base {
			col[row] = pl.plainValue(q)
		}
	}
	return nil
}

// fillMultiple gives each choice exactly round(share × base) of the
// responses in base, drawn independently, then moves choices from
// responses holding several to those left with none (a required
// select_multiple needs one), which keeps every choice's count.
func (pl *planner) fillMultiple(q *form.Question, shares []Share, col []string, base []int) error {
	list := pl.f.Choices[q.ListName]
	index := make(map[string]int, len(list))
	for j, c := range list {
		index[c.Name] = j
	}
	chosen := make([][]bool, len(base))
	for k := range chosen {
		chosen[k] = make([]bool, len(list))
	}
	held := make([]int, len(base))
	total := 0
	for _, s := range shares {
		c := int(math.Floor(s.Percent/100*float64(len(base)) + 0.5))
		c = min(c, len(base))
		total += c
		for _, k := range pl.rng.Perm(len(base))[:c] {
			chosen[k][index[s.Choice]] = true
			held[k]++
		}
	}
	if total < len(base) && (q.Required || q.RequiredIf != "") {
		return fmt.Errorf("sample: %s: the shares give %d choices to %d required answers", q.Name, total, len(base))
	}
	var empty, many []int
	for k, h := range held {
		switch {
		case h == 0:
			empty = append(empty, k)
		case h > 1:
			many = append(many, k)
		}
	}
	for _, k := range empty {
		for len(many) > 0 {
			d := pl.rng.IntN(len(many))
			donor := many[d]
			if held[donor] < 2 {
				many[d] = many[len(many)-1]
				many = many[:len(many)-1]
				continue
			}
			// Move a random one of the donor's choices.
			var own []int
			for j, ok := range chosen[donor] {
				if ok {
					own = append(own, j)
				}
			}
			j := own[pl.rng.IntN(len(own))]
			chosen[donor][j], chosen[k][j] = false, true
			held[donor]--
			held[k]++
			break
		}
		if held[k] == 0 {
			return fmt.Errorf("sample: %s: not enough choices to answer every response", q.Name)
		}
	}
	for k, row := range base {
		var names []string
		for j, ok := range chosen[k] {
			if ok {
				names = append(names, list[j].Name)
			}
		}
		col[row] = strings.Join(names, " ")
	}
	return nil
}

// plainValue answers a question that is not a select: required ones get a
// plausible value, optional ones are left unanswered.
func (pl *planner) plainValue(q *form.Question) string {
	if !q.Required {
		return ""
	}
	switch q.Type {
	case "integer":
		return strconv.Itoa(pl.rng.IntN(100))
	case "decimal", "range":
		return strconv.FormatFloat(float64(pl.rng.IntN(10000))/100, 'f', -1, 64)
	case "date", "today":
		return pl.p.Start.AddDate(0, 0, -pl.rng.IntN(365)).Format("2006-01-02")
	case "text":
		return sampleTexts[pl.rng.IntN(len(sampleTexts))]
	case "acknowledge":
		return "OK"
	}
	return ""
}

// failing returns the index of the first check response row breaks, or -1.
func (pl *planner) failing(env *rowEnv, row int) int {
	env.row = row
	for c, ch := range pl.checks {
		if !ch.e.EvalBool(env) {
			return c
		}
	}
	return -1
}

// repair swaps values of the fields a broken check reads between row and
// other responses until row passes every check, each swap kept only when
// the other response still passes too.
func (pl *planner) repair(cols [][]string, row int, env *rowEnv) error {
	const tries = 100000
	n := len(cols[0])
	for range tries {
		c := pl.failing(env, row)
		if c < 0 {
			return nil
		}
		var fields []int
		for _, i := range pl.checks[c].refs {
			if pl.swappable[i] {
				fields = append(fields, i)
			}
		}
		if len(fields) == 0 {
			return fmt.Errorf("sample: check %s reads no select_one that can be swapped", pl.checks[c].name)
		}
		i := fields[pl.rng.IntN(len(fields))]
		other := pl.rng.IntN(n)
		if other == row || cols[i][other] == cols[i][row] || cols[i][other] == "" {
			continue
		}
		cols[i][row], cols[i][other] = cols[i][other], cols[i][row]
		if pl.failing(env, other) >= 0 {
			cols[i][row], cols[i][other] = cols[i][other], cols[i][row]
		}
	}
	return fmt.Errorf("sample: could not make response %d satisfy check %s by swapping answers", row, pl.checks[pl.failing(env, row)].name)
}

// freshRow draws one complete, consistent response at random (for the
// defects, which count in no target).
func (pl *planner) freshRow() ([]string, error) {
	cols := make([][]string, len(pl.fields))
	for i := range cols {
		cols[i] = make([]string, 1)
	}
	env := &rowEnv{cols: cols, pos: pl.pos, now: pl.p.Start}
	for i, q := range pl.fields {
		if !holds(pl.rel[i], env) {
			continue
		}
		cols[i][0] = pl.randomValue(q)
	}
	for range 10000 {
		c := pl.failing(env, 0)
		if c < 0 {
			row := make([]string, len(cols))
			for i := range cols {
				row[i] = cols[i][0]
			}
			return row, nil
		}
		for _, i := range pl.checks[c].refs {
			cols[i][0] = pl.randomValue(pl.fields[i])
		}
	}
	return nil, fmt.Errorf("sample: could not draw a consistent response")
}

// randomValue draws one answer by the question's shares.
func (pl *planner) randomValue(q *form.Question) string {
	switch q.Type {
	case "select_one":
		shares := pl.sharesOf(q)
		return shares[pick(pl.rng, shares)].Choice
	case "select_multiple":
		shares := pl.sharesOf(q)
		list := pl.f.Choices[q.ListName]
		on := map[string]bool{}
		for _, s := range shares {
			if pl.rng.Float64()*100 < s.Percent {
				on[s.Choice] = true
			}
		}
		if len(on) == 0 {
			on[shares[pick(pl.rng, shares)].Choice] = true
		}
		var names []string
		for _, c := range list {
			if on[c.Name] {
				names = append(names, c.Name)
			}
		}
		return strings.Join(names, " ")
	}
	return pl.plainValue(q)
}

func pick(rng *rand.Rand, shares []Share) int {
	var sum float64
	for _, s := range shares {
		sum += s.Percent
	}
	x := rng.Float64() * sum
	for j, s := range shares {
		if x < s.Percent {
			return j
		}
		x -= s.Percent
	}
	return len(shares) - 1
}

// breakCheck redraws the fields the checks read until check c fails and
// every other check holds. All the checks' fields are redrawn together:
// breaking one check can break another that shares a field with it (a
// teenager with a doctorate may also have been online for 19 years).
func (pl *planner) breakCheck(row []string, c int) error {
	cols := make([][]string, len(row))
	for i, v := range row {
		cols[i] = []string{v}
	}
	env := &rowEnv{cols: cols, pos: pl.pos, now: pl.p.Start}
	var refs []int
	for _, ch := range pl.checks {
		for _, i := range ch.refs {
			// Only fields no relevant reads: redrawing them changes no relevance.
			if pl.swappable[i] && !slices.Contains(refs, i) {
				refs = append(refs, i)
			}
		}
	}
	if !slices.ContainsFunc(pl.checks[c].refs, func(i int) bool { return pl.swappable[i] }) {
		return fmt.Errorf("sample: check %s reads no select_one outside every relevant", pl.checks[c].name)
	}
	for range 100000 {
		for _, i := range refs {
			list := pl.f.Choices[pl.fields[i].ListName]
			cols[i][0] = list[pl.rng.IntN(len(list))].Name
		}
		ok := !pl.checks[c].e.EvalBool(env)
		for k, ch := range pl.checks {
			if ok && k != c && !ch.e.EvalBool(env) {
				ok = false
			}
		}
		if ok {
			for i := range row {
				row[i] = cols[i][0]
			}
			return nil
		}
	}
	return fmt.Errorf("sample: could not break check %s alone", pl.checks[c].name)
}

// emit interleaves the valid responses and the defects at random and
// hands them out in submission order.
func (pl *planner) emit(cols [][]string, fn func(Response) error) error {
	p := pl.p
	d := p.Defects
	events := make([]eventKind, 0, p.Collected())
	for range p.Valid {
		events = append(events, evValid)
	}
	for _, k := range []struct {
		kind eventKind
		n    int
	}{
		{evDuplicate, d.Duplicates}, {evSpeeder, d.Speeders}, {evInconsistent, d.Inconsistent},
		{evIncomplete, d.Incomplete}, {evInvalid, d.InvalidValues}, {evSpeedingInconsistent, d.SpeedingInconsistent},
	} {
		for range k.n {
			events = append(events, k.kind)
		}
	}
	pl.rng.Shuffle(len(events), func(a, b int) { events[a], events[b] = events[b], events[a] })
	// A duplicate needs a valid response before it.
	first := slices.Index(events, evValid)
	events[0], events[first] = events[first], events[0]

	var (
		validSeen  []int // positions (in events) of the valid responses emitted, by valid row
		clients    []string
		checkTurn  int
		spoilTurn  int
		row        = make([]string, len(pl.fields))
		nextValid  = 0
		validOrder = pl.rng.Perm(p.Valid) // which valid row each valid event is
	)
	for pos, kind := range events {
		submitted := p.Start.Add(time.Duration(pos+1) * p.Interval)
		r := Response{
			InstanceID:  instanceID(p.Seed, uint64(pos)),
			SubmittedAt: submitted,
			Client:      clientKey(p.Seed, uint64(pos)),
			Answers:     form.Answers{},
		}
		dur := pl.duration(false)
		switch kind {
		case evValid:
			v := validOrder[nextValid]
			nextValid++
			validSeen = append(validSeen, v)
			clients = append(clients, r.Client)
			for i := range pl.fields {
				row[i] = cols[i][v]
			}
		case evDuplicate:
			k := pl.rng.IntN(len(validSeen))
			v := validSeen[k]
			r.Client = clients[k]
			for i := range pl.fields {
				row[i] = cols[i][v]
			}
			r.Reasons = []string{"duplicate"}
		default:
			fresh, err := pl.freshRow()
			if err != nil {
				return err
			}
			copy(row, fresh)
			switch kind {
			case evSpeeder:
				dur = pl.duration(true)
				r.Reasons = []string{"speeding"}
			case evInconsistent, evSpeedingInconsistent:
				c := checkTurn % len(pl.checks)
				checkTurn++
				if err := pl.breakCheck(row, c); err != nil {
					return err
				}
				r.Reasons = []string{"consistency:" + pl.checks[c].name}
				if kind == evSpeedingInconsistent {
					dur = pl.duration(true)
					r.Reasons = []string{"speeding", "consistency:" + pl.checks[c].name}
				}
			case evIncomplete:
				row[pl.free[spoilTurn%len(pl.free)]] = ""
				spoilTurn++
				r.Reasons = []string{"incomplete"}
			case evInvalid:
				i := pl.free[spoilTurn%len(pl.free)]
				spoilTurn++
				row[i] = notAChoice(pl.f, pl.fields[i].ListName)
				r.Reasons = []string{"invalid_value"}
			}
		}
		for i, q := range pl.fields {
			if row[i] != "" {
				r.Answers[q.Name] = row[i]
			}
		}
		r.Ended = submitted.Add(-time.Duration(pl.rng.IntN(20000)) * time.Millisecond)
		r.Started = r.Ended.Add(-dur)
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// duration draws how long a response took, in whole milliseconds.
func (pl *planner) duration(speeder bool) time.Duration {
	lo, hi := minDuration, maxDuration
	if speeder {
		lo, hi = minSpeeder, maxSpeeder
	}
	ms := int64(lo/time.Millisecond) + pl.rng.Int64N(int64((hi-lo)/time.Millisecond)+1)
	return time.Duration(ms) * time.Millisecond
}

func notAChoice(f *form.Form, list string) string {
	for k := 99; ; k++ {
		v := strconv.Itoa(k)
		if _, ok := f.Choice(list, v); !ok {
			return v
		}
	}
}

// mix is SplitMix64's finaliser: a bijection on 64 bits, so distinct
// positions give distinct ids and clients.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func instanceID(seed, pos uint64) string {
	a := mix(pos ^ seed*0x9e3779b97f4a7c15)
	b := mix(a ^ 0x5851f42d4c957f2d)
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, a>>16&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

func clientKey(seed, pos uint64) string {
	return fmt.Sprintf("k%016x", mix(pos^(seed+1)*0xd1b54a32d192ed03))
}

// AddTo stores the plan's responses in st as responses to form revision fv
// (compiled as f), in batches, with the given channel.
func (p Plan) AddTo(ctx context.Context, st store.Store, fv store.FormVersion, f *form.Form, channel string) error {
	const batch = 1000
	rs := make([]store.Response, 0, batch)
	flush := func() error {
		if len(rs) == 0 {
			return nil
		}
		_, err := st.AddResponses(ctx, rs)
		rs = rs[:0]
		return err
	}
	err := p.Generate(f, func(r Response) error {
		enc, err := f.EncodeAnswers(r.Answers)
		if err != nil {
			return fmt.Errorf("sample: %w", err)
		}
		rs = append(rs, store.Response{
			FormID: fv.FormID, Revision: fv.Revision, InstanceID: r.InstanceID,
			Started: r.Started, Ended: r.Ended, SubmittedAt: r.SubmittedAt,
			Client: r.Client, Channel: channel, Answers: enc,
		})
		if len(rs) == batch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// WriteCSV writes the plan's responses as a CONTRACTS.md §2 file, for
// 'govsurvey import'.
func (p Plan) WriteCSV(w io.Writer, f *form.Form) error {
	cw := csv.NewWriter(w)
	fields := f.Fields()
	header := []string{"instance_id", "started", "ended", "submitted_at", "client"}
	for _, q := range fields {
		header = append(header, q.Name)
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	row := make([]string, len(header))
	err := p.Generate(f, func(r Response) error {
		row[0] = r.InstanceID
		row[1] = r.Started.Format(time.RFC3339Nano)
		row[2] = r.Ended.Format(time.RFC3339Nano)
		row[3] = r.SubmittedAt.Format(time.RFC3339Nano)
		row[4] = r.Client
		for i, q := range fields {
			row[5+i] = r.Answers[q.Name]
		}
		return cw.Write(row)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}
