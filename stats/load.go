package stats

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/form/expr"
	"github.com/govsurvey/govsurvey/store"
)

// LoadOptions tune a Loader.
type LoadOptions struct {
	// Valid says whether a response counts (cleaning's verdict, e.g. from
	// clean.Invalid); nil: every response does. Invalid responses are
	// counted in Collected and left out.
	Valid func(instanceID string) bool
	// Revision returns the form of another revision, for responses
	// collected with it; nil: every response is decoded with the Loader's
	// form.
	Revision func(rev int) (*form.Form, error)
	// Workers is the number of decoding goroutines; 0: one per CPU.
	Workers int
	// Expect is how many responses are coming, if known: the columns are
	// allocated once instead of grown.
	Expect int
}

// Loader builds a Dataset from a stream of responses (store.EachResponse
// feeds Add). Answers are decoded with (*form.Form).DecodeInto and turned
// into codes at once; batches are decoded on several goroutines and
// appended in stream order.
type Loader struct {
	f     *form.Form
	opts  LoadOptions
	cols  []*colPlan
	byRev map[int]*revPlan
	revMu sync.Mutex

	batch     []pending
	seq       int
	collected int
	jobs      chan job
	results   chan chunk
	wg        sync.WaitGroup
	done      chan struct{}
	ds        *Dataset
	err       error
	finished  bool
	// textOnly makes every response go through DecodeInto (tests compare
	// the two readers).
	textOnly bool
}

// colPlan is what decoding needs of one dataset column.
type colPlan struct {
	col      *Column
	index    map[string]uint16 // choice name → code (1-based)
	relevant []*expr.Expr      // the question's and its groups' relevant expressions
	// eqs, when every relevant expression is ${name} = 'literal' (the
	// usual skip), lets the fast reader check relevance on the record.
	eqs []relEq
}

// relEq is a relevance condition ${name} = 'literal'.
type relEq struct{ name, literal string }

// eqPattern matches the canonical form of such a condition.
var eqPattern = regexp.MustCompile(`^\$\{([^{}]+)\} = '([^']*)'$`)

func simpleRelevance(conds []*expr.Expr) []relEq {
	var out []relEq
	for _, e := range conds {
		m := eqPattern.FindStringSubmatch(e.String())
		if m == nil {
			return nil
		}
		out = append(out, relEq{m[1], m[2]})
	}
	return out
}

// revPlan maps one revision's fields onto the dataset's columns.
type revPlan struct {
	f      *form.Form
	nField int
	toCol  []int          // field position → column index, -1 when not a column
	pos    map[string]int // field name → position, for relevance
	codes  *revCodes      // for reading choice codes directly
	eqPos  [][]int        // per column with simple relevance: the positions its conditions read (-1: no such field)
}

type pending struct {
	rev       int
	answers   []byte
	submitted time.Time
}

type job struct {
	seq  int
	rows []pending
}

// chunk is one batch decoded into columns.
type chunk struct {
	seq    int
	rows   int
	codes  [][]uint16
	sets   [][]uint64
	values [][]float64
	notRel []int
	notCh  []int
	err    error
}

const loadBatch = 2048

// NewLoader returns a Loader for the responses of form f.
func NewLoader(f *form.Form, opts LoadOptions) (*Loader, error) {
	l := &Loader{f: f, opts: opts, byRev: map[int]*revPlan{}}
	ds := &Dataset{Form: f, byName: map[string]*Column{}}
	// Relevance inherited from groups.
	rel := map[*form.Question][]*expr.Expr{}
	var walk func(qs []*form.Question, inherited []*expr.Expr) error
	walk = func(qs []*form.Question, inherited []*expr.Expr) error {
		for _, q := range qs {
			conds := inherited
			if strings.TrimSpace(q.Relevant) != "" {
				e, err := expr.Parse(q.Relevant)
				if err != nil {
					return fmt.Errorf("stats: %s: relevant: %w", q.Name, err)
				}
				conds = append(append([]*expr.Expr(nil), inherited...), e)
			}
			if q.IsGroup() {
				if err := walk(q.Children, conds); err != nil {
					return err
				}
				continue
			}
			rel[q] = conds
		}
		return nil
	}
	if err := walk(f.Survey, nil); err != nil {
		return nil, err
	}
	for _, q := range f.Fields() {
		kind := columnKind(f, q)
		if kind == 0 {
			continue
		}
		if _, dup := ds.byName[q.Name]; dup {
			continue
		}
		c := &Column{Question: q, Kind: kind}
		p := &colPlan{col: c, relevant: rel[q], eqs: simpleRelevance(rel[q])}
		if kind != Numeric {
			c.Choices = f.Choices[q.ListName]
			p.index = make(map[string]uint16, len(c.Choices))
			for j, ch := range c.Choices {
				if _, dup := p.index[ch.Name]; !dup {
					p.index[ch.Name] = uint16(j + 1)
				}
			}
			if kind == MultipleChoice {
				c.Words = (len(c.Choices) + 63) / 64
			}
		}
		if opts.Expect > 0 {
			switch kind {
			case SingleChoice:
				c.Codes = make([]uint16, 0, opts.Expect)
			case MultipleChoice:
				c.Sets = make([]uint64, 0, opts.Expect*c.Words)
			case Numeric:
				c.Values = make([]float64, 0, opts.Expect)
			}
		}
		ds.Columns = append(ds.Columns, c)
		ds.byName[q.Name] = c
		l.cols = append(l.cols, p)
	}
	l.ds = ds
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	l.jobs = make(chan job, workers)
	l.results = make(chan chunk, workers)
	l.done = make(chan struct{})
	for range workers {
		l.wg.Add(1)
		go l.worker()
	}
	go l.collect()
	return l, nil
}

// plan returns the field mapping of a revision.
func (l *Loader) plan(rev int) (*revPlan, error) {
	l.revMu.Lock()
	defer l.revMu.Unlock()
	if p, ok := l.byRev[rev]; ok {
		return p, nil
	}
	f := l.f
	if l.opts.Revision != nil {
		var err error
		if f, err = l.opts.Revision(rev); err != nil {
			return nil, fmt.Errorf("stats: form revision %d: %w", rev, err)
		}
	}
	fields := f.Fields()
	p := &revPlan{f: f, nField: len(fields), toCol: make([]int, len(fields)), pos: make(map[string]int, len(fields))}
	colIndex := make(map[string]int, len(l.cols))
	for j, c := range l.cols {
		colIndex[c.col.Question.Name] = j
	}
	for i, q := range fields {
		if _, dup := p.pos[q.Name]; !dup {
			p.pos[q.Name] = i
		}
		p.toCol[i] = -1
		if j, ok := colIndex[q.Name]; ok && p.toCol[i] == -1 {
			p.toCol[i] = j
			delete(colIndex, q.Name) // a name maps once
		}
	}
	p.codes = newRevCodes(f, fields, p.toCol, l.cols)
	p.eqPos = make([][]int, len(l.cols))
	for k, c := range l.cols {
		for _, eq := range c.eqs {
			i, ok := p.pos[eq.name]
			if !ok {
				i = -1
			}
			p.eqPos[k] = append(p.eqPos[k], i)
		}
	}
	l.byRev[rev] = p
	return p, nil
}

// Add takes the next response of the stream. It is not safe for
// concurrent use (the stream is ordered).
func (l *Loader) Add(r store.Response) error {
	if l.finished {
		return fmt.Errorf("stats: loader already finished")
	}
	if err := l.failed(); err != nil {
		return err
	}
	l.collected++
	if l.opts.Valid != nil && !l.opts.Valid(r.InstanceID) {
		return nil
	}
	l.batch = append(l.batch, pending{rev: r.Revision, answers: r.Answers, submitted: r.SubmittedAt})
	if len(l.batch) == loadBatch {
		l.flush()
	}
	return nil
}

func (l *Loader) flush() {
	if len(l.batch) == 0 {
		return
	}
	l.jobs <- job{seq: l.seq, rows: l.batch}
	l.seq++
	l.batch = make([]pending, 0, loadBatch)
}

func (l *Loader) failed() error {
	l.revMu.Lock()
	defer l.revMu.Unlock()
	return l.err
}

func (l *Loader) setErr(err error) {
	l.revMu.Lock()
	if l.err == nil {
		l.err = err
	}
	l.revMu.Unlock()
}

// Finish waits for the decoding and returns the Dataset.
func (l *Loader) Finish() (*Dataset, error) {
	if !l.finished {
		l.finished = true
		l.flush()
		close(l.jobs)
		l.wg.Wait()
		close(l.results)
		<-l.done
	}
	if err := l.failed(); err != nil {
		return nil, err
	}
	l.ds.Collected = l.collected
	return l.ds, nil
}

func (l *Loader) worker() {
	defer l.wg.Done()
	for j := range l.jobs {
		l.results <- l.decode(j)
	}
}

// collect appends decoded chunks to the dataset in stream order.
func (l *Loader) collect() {
	defer close(l.done)
	waiting := map[int]chunk{}
	next := 0
	for ch := range l.results {
		if ch.err != nil {
			l.setErr(ch.err)
		}
		waiting[ch.seq] = ch
		for {
			c, ok := waiting[next]
			if !ok {
				break
			}
			delete(waiting, next)
			next++
			if c.err == nil {
				l.append(c)
			}
		}
	}
}

func (l *Loader) append(c chunk) {
	ds := l.ds
	for j, p := range l.cols {
		col := p.col
		switch col.Kind {
		case SingleChoice:
			col.Codes = append(col.Codes, c.codes[j]...)
		case MultipleChoice:
			col.Sets = append(col.Sets, c.sets[j]...)
		case Numeric:
			col.Values = append(col.Values, c.values[j]...)
		}
		col.NotRelevant += c.notRel[j]
		col.NotChoice += c.notCh[j]
	}
	ds.Rows += c.rows
}

// rowEnv lets relevance read one response: from its decoded strings, or
// from its raw record, turning only the fields read into text.
type rowEnv struct {
	vals []string // decoded (slow path); nil on the fast path
	b    []byte
	raw  []rawField
	rc   *revCodes
	pos  map[string]int
	now  time.Time
}

func (e *rowEnv) Value(name string) (string, bool) {
	i, ok := e.pos[name]
	if !ok {
		return "", false
	}
	if e.vals != nil {
		return e.vals[i], true
	}
	return e.rc.text(e.b, e.raw, i), true
}
func (e *rowEnv) Current() string { return "" }
func (e *rowEnv) Now() time.Time  { return e.now }

func (l *Loader) newChunk(j job) chunk {
	n := len(j.rows)
	ch := chunk{seq: j.seq, rows: n, codes: make([][]uint16, len(l.cols)), sets: make([][]uint64, len(l.cols)),
		values: make([][]float64, len(l.cols)), notRel: make([]int, len(l.cols)), notCh: make([]int, len(l.cols))}
	for k, p := range l.cols {
		switch p.col.Kind {
		case SingleChoice:
			ch.codes[k] = make([]uint16, n)
		case MultipleChoice:
			ch.sets[k] = make([]uint64, n*p.col.Words)
		case Numeric:
			v := make([]float64, n)
			for i := range v {
				v[i] = math.NaN()
			}
			ch.values[k] = v
		}
	}
	return ch
}

func (l *Loader) decode(j job) chunk {
	ch := l.newChunk(j)
	var plan *revPlan
	var raw []rawField
	var vals []string
	env := &rowEnv{}
	for r, row := range j.rows {
		if plan == nil || l.byRevCached(row.rev) != plan {
			var err error
			if plan, err = l.plan(row.rev); err != nil {
				ch.err = err
				return ch
			}
			raw = make([]rawField, plan.nField)
			vals = make([]string, plan.nField)
		}
		if !l.textOnly && parseV1(row.answers, plan.codes, raw) == nil {
			l.decodeRaw(plan, row, raw, r, &ch, env)
			continue
		}
		// Anything the direct reader does not know goes the long way.
		if err := plan.f.DecodeInto(row.answers, vals); err != nil {
			ch.err = fmt.Errorf("stats: decoding a response of revision %d: %w", row.rev, err)
			return ch
		}
		l.decodeText(plan, row, vals, r, &ch, env)
	}
	return ch
}

// decodeRaw files one response read as codes.
func (l *Loader) decodeRaw(plan *revPlan, row pending, raw []rawField, r int, ch *chunk, env *rowEnv) {
	*env = rowEnv{b: row.answers, raw: raw, rc: plan.codes, pos: plan.pos, now: row.submitted}
	rc := plan.codes
	b := row.answers
	for fpos, rf := range raw {
		if rf.kind == rawNone {
			continue
		}
		k := plan.toCol[fpos]
		if k < 0 {
			continue
		}
		p := l.cols[k]
		switch {
		case len(p.relevant) == 0:
		case p.eqs != nil:
			if !rc.holds(b, raw, p.eqs, plan.eqPos[k]) {
				ch.notRel[k]++
				continue
			}
		case !relevant(p.relevant, env):
			ch.notRel[k]++
			continue
		}
		switch p.col.Kind {
		case SingleChoice:
			var code uint16
			if rf.kind == rawChoice {
				code = rc.toCode[fpos][rf.code]
			} else if c, ok := p.index[string(b[rf.lo:rf.hi])]; ok {
				code = c
			} else {
				code = NoChoice
			}
			if code == NoChoice {
				ch.notCh[k]++
			}
			ch.codes[k][r] = code
		case MultipleChoice:
			words := ch.sets[k][r*p.col.Words : (r+1)*p.col.Words]
			switch {
			case rf.kind == rawSet && rc.sameList[fpos]:
				for i, x := range b[rf.lo:rf.hi] {
					words[i/8] |= uint64(x) << (8 * (i % 8))
				}
			case rf.kind == rawSet:
				bad := false
				for i, x := range b[rf.lo:rf.hi] {
					for bit := 0; bit < 8; bit++ {
						if x&(1<<bit) == 0 {
							continue
						}
						code := rc.toCode[fpos][i*8+bit]
						if code == NoChoice {
							bad = true
							continue
						}
						words[(code-1)/64] |= 1 << ((code - 1) % 64)
					}
				}
				if bad {
					ch.notCh[k]++
				}
			default:
				if !setFromText(p, string(b[rf.lo:rf.hi]), words) {
					ch.notCh[k]++
				}
			}
		case Numeric:
			if rf.kind != rawText {
				ch.notCh[k]++
				continue
			}
			x, err := strconv.ParseFloat(strings.TrimSpace(string(b[rf.lo:rf.hi])), 64)
			if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
				ch.notCh[k]++
				continue
			}
			ch.values[k][r] = x
		}
	}
}

// decodeText files one response decoded by DecodeInto.
func (l *Loader) decodeText(plan *revPlan, row pending, vals []string, r int, ch *chunk, env *rowEnv) {
	*env = rowEnv{vals: vals, pos: plan.pos, now: row.submitted}
	for fpos, v := range vals {
		if v == "" {
			continue
		}
		k := plan.toCol[fpos]
		if k < 0 {
			continue
		}
		p := l.cols[k]
		if !relevant(p.relevant, env) {
			ch.notRel[k]++
			continue
		}
		switch p.col.Kind {
		case SingleChoice:
			code, ok := p.index[v]
			if !ok {
				code = NoChoice
				ch.notCh[k]++
			}
			ch.codes[k][r] = code
		case MultipleChoice:
			if !setFromText(p, v, ch.sets[k][r*p.col.Words:(r+1)*p.col.Words]) {
				ch.notCh[k]++
			}
		case Numeric:
			x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
				ch.notCh[k]++
				continue
			}
			ch.values[k][r] = x
		}
	}
}

// setFromText sets the bits of the space-separated choice names in v; it
// reports false when a name is no choice of the list.
func setFromText(p *colPlan, v string, words []uint64) bool {
	ok := true
	for tok := range strings.FieldsSeq(v) {
		code, found := p.index[tok]
		if !found {
			ok = false
			continue
		}
		b := int(code) - 1
		words[b/64] |= 1 << (b % 64)
	}
	return ok
}

func (l *Loader) byRevCached(rev int) *revPlan {
	l.revMu.Lock()
	defer l.revMu.Unlock()
	return l.byRev[rev]
}

func relevant(conds []*expr.Expr, env expr.Env) bool {
	for _, e := range conds {
		if !e.EvalBool(env) {
			return false
		}
	}
	return true
}

// StoreRevisions reads the revisions of form formID from st for
// LoadOptions.Revision, each once: a dataset mixing revisions asks for
// the same few again and again. It is safe for concurrent use.
func StoreRevisions(ctx context.Context, st store.Store, formID string) func(rev int) (*form.Form, error) {
	forms := map[int]*form.Form{}
	var mu sync.Mutex
	return func(rev int) (*form.Form, error) {
		mu.Lock()
		defer mu.Unlock()
		if rf, ok := forms[rev]; ok {
			return rf, nil
		}
		fv, err := st.FormRevision(ctx, formID, rev)
		if err != nil {
			return nil, err
		}
		rf, err := form.FromDefinition(fv.Definition)
		if err != nil {
			return nil, err
		}
		forms[rev] = rf
		return rf, nil
	}
}

// Load streams the responses of a form from a store into a Dataset: f is
// the form the dataset is laid out by (normally the latest revision);
// responses of other revisions are decoded with their own revision, read
// from the store, and matched by question and choice name.
func Load(ctx context.Context, st store.Store, f *form.Form, opts LoadOptions) (*Dataset, error) {
	if opts.Revision == nil {
		opts.Revision = StoreRevisions(ctx, st, f.ID)
	}
	if opts.Expect == 0 {
		if n, err := st.CountResponses(ctx, f.ID); err == nil {
			opts.Expect = n // a hint: responses stored meanwhile are loaded all the same
		}
	}
	l, err := NewLoader(f, opts)
	if err != nil {
		return nil, err
	}
	streamErr := st.EachResponse(ctx, store.ResponseFilter{FormID: f.ID}, l.Add)
	ds, err := l.Finish()
	if streamErr != nil {
		return nil, streamErr
	}
	return ds, err
}
