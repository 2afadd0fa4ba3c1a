package stats

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// Net is a named group of choices of one question, reported beside them,
// e.g. "improved" = big_up + up. For a multiple-choice question a net
// counts the responses that chose any of its choices.
type Net struct {
	Question string
	Name     string
	Choices  []string
}

// ParseNets reads nets written as QUESTION.NAME=CHOICE+CHOICE…, several
// separated by ";" or new lines, e.g.
// "safety_change.improved=big_up+up; overall_safety.safe=very_safe+safe".
// This is how nets are declared in settings (the form settings column
// "nets", or --net on the command line), never in code.
func ParseNets(s string) ([]Net, error) {
	var out []Net
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' }) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lhs, rhs, ok := strings.Cut(part, "=")
		q, name, ok2 := strings.Cut(strings.TrimSpace(lhs), ".")
		if !ok || !ok2 || q == "" || name == "" {
			return nil, fmt.Errorf("stats: net %q: write QUESTION.NAME=CHOICE+CHOICE", part)
		}
		n := Net{Question: strings.TrimSpace(q), Name: strings.TrimSpace(name)}
		for _, c := range strings.Split(rhs, "+") {
			if c = strings.TrimSpace(c); c != "" {
				n.Choices = append(n.Choices, c)
			}
		}
		if len(n.Choices) == 0 {
			return nil, fmt.Errorf("stats: net %q has no choices", part)
		}
		out = append(out, n)
	}
	return out, nil
}

// Condition keeps the responses whose answer to Field is one of Choices
// (for a multiple-choice question: chose any of them).
type Condition struct {
	Field   string
	Choices []string
}

// ParseCondition reads FIELD=CHOICE[,CHOICE…].
func ParseCondition(s string) (Condition, error) {
	f, v, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(f) == "" || strings.TrimSpace(v) == "" {
		return Condition{}, fmt.Errorf("stats: filter %q: write FIELD=CHOICE[,CHOICE…]", s)
	}
	c := Condition{Field: strings.TrimSpace(f)}
	for _, x := range strings.Split(v, ",") {
		if x = strings.TrimSpace(x); x != "" {
			c.Choices = append(c.Choices, x)
		}
	}
	return c, nil
}

func (c Condition) String() string { return c.Field + "=" + strings.Join(c.Choices, ",") }

// AnalysisOptions choose what Analyze computes.
type AnalysisOptions struct {
	Questions []string    // nil: every question the data set holds
	By        []string    // a cross-tab by each; "a,b" crosses two fields
	Filter    []Condition // a domain: responses meeting every condition
	Weighting *Weighting  // nil: unweighted
	CIMethod  CIMethod    // "": logit
	Level     float64     // 0: 0.95
	Lang      string      // label language; "": the form's default
	Nets      []Net
	// Design names the fields carrying the sample design; nil: the rows
	// are a simple random sample (with replacement).
	Design *DesignFields
	// InvalidByReason is copied into the document (cleaning's funnel).
	InvalidByReason map[string]int
	// Workers tabulate questions in parallel; 0: one per CPU.
	Workers int
}

// Analyze computes the CONTRACTS.md §4 document of a data set: weighting
// (when asked), every question's table, and the cross-tabs.
func Analyze(ds *Dataset, opts AnalysisOptions) (*Analysis, error) {
	var d *Design
	var info *WeightsInfo
	var err error
	var design *DesignInfo
	if opts.Design != nil {
		var spec DesignSpec
		if spec, err = ds.DesignSpec(*opts.Design); err != nil {
			return nil, err
		}
		if d, err = NewDesign(spec); err != nil {
			// Name the option: the design's own message speaks of rows
			// and codes, not of the questions the caller chose.
			return nil, &OptionError{Option: opts.Design.option(), Err: fmt.Errorf("the design %s cannot be used: %w", opts.Design, err)}
		}
		design = designInfo(opts.Design, d)
		if opts.Weighting != nil {
			d, info, err = ds.weightOn(d, *opts.Weighting)
		}
	} else if opts.Weighting != nil {
		d, info, err = ds.Weight(*opts.Weighting)
	} else if ds.Rows >= 2 {
		d, err = NewDesign(DesignSpec{Rows: ds.Rows})
	} else {
		// Nothing to estimate a variance from: the tables show counts and
		// shares without SEs.
		d, err = NewDesign(DesignSpec{Rows: 1, Strata: []int32{0}, Lonely: LonelyRemove})
	}
	if err != nil {
		return nil, err
	}
	tb, err := newTabber(ds, d, opts)
	if err != nil {
		return nil, err
	}
	a := &Analysis{
		FormID: ds.Form.ID, FormVersion: ds.Form.Version, Collected: ds.Collected, Valid: ds.Rows,
		InvalidByReason: opts.InvalidByReason, Weights: info, Design: design, CIMethod: tb.method, CILevel: tb.level,
	}
	if a.InvalidByReason == nil {
		a.InvalidByReason = map[string]int{}
	}
	for _, c := range opts.Filter {
		a.Filter = append(a.Filter, c.String())
	}
	if a.Questions, err = tb.Tables(); err != nil {
		return nil, err
	}
	for _, by := range opts.By {
		ct, err := tb.Crosstab(by)
		if err != nil {
			return nil, err
		}
		a.Crosstabs = append(a.Crosstabs, ct)
	}
	return a, nil
}

// Tabulator makes the tables of one data set under one design.
type Tabulator struct {
	ds         *Dataset
	d          *Design
	cm         *cellModel // nil: the row route
	filter     []bool     // nil: every row
	method     CIMethod
	level      float64
	lang       string
	questions  []*Column
	nets       map[string][]Net
	workers    int
	isWeighted bool
}

// NewTabulator prepares tables of ds under design d (ds.Weight's, or an
// unweighted one) with opts' questions, filter, nets and intervals.
func NewTabulator(ds *Dataset, d *Design, opts AnalysisOptions) (*Tabulator, error) {
	return newTabber(ds, d, opts)
}

func newTabber(ds *Dataset, d *Design, opts AnalysisOptions) (*Tabulator, error) {
	if d.n != max(ds.Rows, 1) {
		return nil, fmt.Errorf("stats: design has %d rows, the data set %d", d.n, ds.Rows)
	}
	tb := &Tabulator{ds: ds, d: d, method: opts.CIMethod, level: opts.Level, lang: opts.Lang, nets: map[string][]Net{}, workers: opts.Workers}
	if tb.method == "" {
		tb.method = CILogit
	}
	if _, err := ParseCIMethod(string(tb.method)); err != nil {
		return nil, err
	}
	if tb.level == 0 {
		tb.level = 0.95
	}
	if tb.lang == "" {
		tb.lang = ds.Form.DefaultLanguage
	}
	if tb.workers <= 0 {
		tb.workers = runtime.GOMAXPROCS(0)
	}
	tb.isWeighted = len(d.steps) > 0 || !allOnes(d.w)
	if ds.Rows > 0 {
		cm, err := newCellModel(d)
		if err == nil {
			tb.cm = cm
		}
	}
	if len(opts.Questions) == 0 {
		tb.questions = ds.Columns
	} else {
		for _, name := range opts.Questions {
			c := ds.Column(name)
			if c == nil {
				return nil, fmt.Errorf("stats: form %s has no question %q to tabulate", ds.Form.ID, name)
			}
			tb.questions = append(tb.questions, c)
		}
	}
	for _, n := range opts.Nets {
		c := ds.Column(n.Question)
		if c == nil || c.Kind == Numeric {
			return nil, fmt.Errorf("stats: net %s: %q is no choice question of form %s", n.Name, n.Question, ds.Form.ID)
		}
		for _, ch := range n.Choices {
			if choiceIndex(c, ch) < 0 {
				return nil, fmt.Errorf("stats: net %s: %q is not a choice of %s", n.Name, ch, n.Question)
			}
		}
		tb.nets[n.Question] = append(tb.nets[n.Question], n)
	}
	if len(opts.Filter) > 0 && ds.Rows > 0 {
		tb.filter = make([]bool, ds.Rows)
		for i := range tb.filter {
			tb.filter[i] = true
		}
		for _, cond := range opts.Filter {
			c := ds.Column(cond.Field)
			if c == nil || c.Kind == Numeric {
				return nil, fmt.Errorf("stats: filter %s: no choice question %q in form %s", cond, cond.Field, ds.Form.ID)
			}
			var idx []int
			for _, ch := range cond.Choices {
				j := choiceIndex(c, ch)
				if j < 0 {
					return nil, fmt.Errorf("stats: filter %s: %q is not a choice of %s", cond, ch, cond.Field)
				}
				idx = append(idx, j)
			}
			for i := range tb.filter {
				if !tb.filter[i] {
					continue
				}
				any := false
				for _, j := range idx {
					if c.Chose(i, j) {
						any = true
						break
					}
				}
				tb.filter[i] = any
			}
		}
	}
	return tb, nil
}

// CellRoute reports whether tables use the cell route (see cellvar.go).
func (tb *Tabulator) CellRoute() bool { return tb.cm != nil }

func choiceIndex(c *Column, name string) int {
	for j, ch := range c.Choices {
		if ch.Name == name {
			return j
		}
	}
	return -1
}

// Tables tabulates every question over the whole data set (or filter).
func (tb *Tabulator) Tables() ([]QuestionTable, error) {
	out := make([]QuestionTable, len(tb.questions))
	err := tb.parallel(len(tb.questions), func(k int) error {
		acc := tb.accumulate(tb.questions[k], nil)
		ts, err := tb.tables(acc)
		if err != nil {
			return err
		}
		out[k] = ts[0]
		return nil
	})
	return out, err
}

// Crosstab tabulates every question within the groups of a single-choice
// field (or of two crossed, "a,b"), with a Rao–Scott F test for each
// single-choice question.
func (tb *Tabulator) Crosstab(by string) (Crosstab, error) {
	bc, err := tb.byColumn(by)
	if err != nil {
		return Crosstab{}, err
	}
	ct := Crosstab{By: by, Label: bc.Question.Label.In(tb.lang)}
	for _, ch := range bc.Choices {
		ct.Groups = append(ct.Groups, CrosstabGroup{Name: ch.Name, Label: ch.Label.In(tb.lang)})
	}
	per := make([][]QuestionTable, len(tb.questions))
	tests := make([]*Association, len(tb.questions))
	err = tb.parallel(len(tb.questions), func(k int) error {
		q := tb.questions[k]
		acc := tb.accumulate(q, bc)
		ts, err := tb.tables(acc)
		if err != nil {
			return err
		}
		per[k] = ts
		if q.Kind == SingleChoice && q != bc {
			if t, err := tb.association(acc); err == nil {
				tests[k] = &Association{Question: q.Question.Name, ChiSqTest: t}
			}
		}
		return nil
	})
	if err != nil {
		return Crosstab{}, err
	}
	bases := make([]int, len(ct.Groups))
	wbases := make([]float64, len(ct.Groups))
	for i := range tb.ds.Rows {
		code := bc.Codes[i]
		if code == 0 || code == NoChoice || (tb.filter != nil && !tb.filter[i]) {
			continue
		}
		bases[code-1]++
		wbases[code-1] += tb.d.w[i]
	}
	for g := range ct.Groups {
		for k := range tb.questions {
			ct.Groups[g].Questions = append(ct.Groups[g].Questions, per[k][g])
		}
		ct.Groups[g].Base = bases[g]
		if tb.weighted() {
			wb := Num(wbases[g])
			ct.Groups[g].WeightedBase = &wb
		}
	}
	for _, t := range tests {
		if t != nil {
			ct.Tests = append(ct.Tests, *t)
		}
	}
	return ct, nil
}

// byColumn returns the single-choice column to group by; "a,b" is the
// crossing of two, with choices named "x/y".
func (tb *Tabulator) byColumn(by string) (*Column, error) {
	names := strings.Split(by, ",")
	var cols []*Column
	for _, n := range names {
		c := tb.ds.Column(strings.TrimSpace(n))
		if c == nil || c.Kind != SingleChoice {
			return nil, fmt.Errorf("stats: cross-tab by %q: %q is no single-choice question of form %s", by, n, tb.ds.Form.ID)
		}
		cols = append(cols, c)
	}
	if len(cols) == 1 {
		return cols[0], nil
	}
	// Crossed: codes are mixed radix over the fields' choices.
	out := &Column{Question: cols[0].Question, Kind: SingleChoice, Codes: make([]uint16, tb.ds.Rows)}
	size := 1
	for _, c := range cols {
		size *= len(c.Choices)
	}
	if size >= NoChoice {
		return nil, fmt.Errorf("stats: cross-tab by %q has too many groups (%d)", by, size)
	}
	var label []string
	for _, c := range cols {
		label = append(label, c.Question.Label.In(tb.lang))
	}
	q := *cols[0].Question
	q.Name = by
	q.Label = map[string]string{"": strings.Join(label, " × ")}
	out.Question = &q
	combos := [][]int{{}}
	for _, c := range cols {
		var next [][]int
		for _, prefix := range combos {
			for j := range c.Choices {
				next = append(next, append(slices.Clone(prefix), j))
			}
		}
		combos = next
	}
	for _, combo := range combos {
		var names, labels []string
		for v, j := range combo {
			names = append(names, cols[v].Choices[j].Name)
			labels = append(labels, cols[v].Choices[j].Label.In(tb.lang))
		}
		out.Choices = append(out.Choices, formChoice(strings.Join(names, "/"), strings.Join(labels, " / ")))
	}
	for i := range out.Codes {
		code := 0
		for _, c := range cols {
			l := c.Level(i)
			if l < 0 {
				code = -1
				break
			}
			code = code*len(c.Choices) + int(l)
		}
		if code >= 0 {
			out.Codes[i] = uint16(code + 1)
		}
	}
	return out, nil
}

func (tb *Tabulator) weighted() bool { return tb.isWeighted }

func allOnes(w []float64) bool {
	for _, x := range w {
		if x != 1 {
			return false
		}
	}
	return true
}

// parallel runs fn(0..n-1) on tb.workers goroutines; the first error wins.
func (tb *Tabulator) parallel(n int, fn func(k int) error) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	next := 0
	for range min(tb.workers, max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				k := next
				next++
				stop := first != nil
				mu.Unlock()
				if k >= n || stop {
					return
				}
				if err := fn(k); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// accum holds one question's per-cell sums in the groups of a field: for
// every (group, class) the cell sums of its indicator (or value, for a
// numeric question) and for every group its domain's.
type accum struct {
	col, by  *Column
	G, K, C  int
	H        int
	nChoices int
	nets     []Net
	constant bool
	// counts route: class and domain counts per cell
	cnt, dcnt []uint32
	// float route
	y, d, w, w2, yy      []float64 // class sums: G·K·C (yy: G·K·H)
	dy, dd, dw, dw2, dyy []float64 // domain sums: G·C (dyy: G·H)
	min, max             []float64 // numeric, per group
}

// accumulate makes one pass over the rows.
func (tb *Tabulator) accumulate(col, by *Column) *accum {
	acc := &accum{col: col, by: by, G: 1, nets: tb.nets[col.Question.Name]}
	if by != nil {
		acc.G = len(by.Choices)
	}
	switch col.Kind {
	case SingleChoice, MultipleChoice:
		acc.nChoices = len(col.Choices)
		acc.K = acc.nChoices + len(acc.nets)
	case Numeric:
		acc.K = 1
	}
	if tb.cm == nil || tb.ds.Rows == 0 {
		return acc // the row route works from the columns directly
	}
	cm := tb.cm
	acc.C, acc.H = cm.nCells, tb.d.nStrat
	acc.constant = cm.constant && col.Kind != Numeric
	G, K, C, H := acc.G, acc.K, acc.C, acc.H
	if acc.constant {
		acc.cnt = make([]uint32, G*K*C)
		acc.dcnt = make([]uint32, G*C)
	} else {
		acc.y, acc.d, acc.w, acc.w2 = make([]float64, G*K*C), make([]float64, G*K*C), make([]float64, G*K*C), make([]float64, G*K*C)
		acc.yy = make([]float64, G*K*H)
		acc.dy, acc.dd, acc.dw, acc.dw2 = make([]float64, G*C), make([]float64, G*C), make([]float64, G*C), make([]float64, G*C)
		acc.dyy = make([]float64, G*H)
	}
	if col.Kind == Numeric {
		acc.min, acc.max = make([]float64, G), make([]float64, G)
		for g := range G {
			acc.min[g], acc.max[g] = math.Inf(1), math.Inf(-1)
		}
	}
	// Classes hit by a single-choice code: the choice and its nets.
	var classesOf [][]int
	var netMasks [][]uint64
	if col.Kind == SingleChoice {
		classesOf = make([][]int, len(col.Choices)+1)
		for j := range col.Choices {
			classesOf[j+1] = []int{j}
		}
		for n, net := range acc.nets {
			for _, ch := range net.Choices {
				j := choiceIndex(col, ch)
				classesOf[j+1] = append(classesOf[j+1], acc.nChoices+n)
			}
		}
	}
	if col.Kind == MultipleChoice {
		for _, net := range acc.nets {
			mask := make([]uint64, col.Words)
			for _, ch := range net.Choices {
				j := choiceIndex(col, ch)
				mask[j/64] |= 1 << (j % 64)
			}
			netMasks = append(netMasks, mask)
		}
	}
	cellOf := cm.cellOf
	stratum := cm.stratum
	w := tb.d.w
	base := cm.base
	filter := tb.filter
	// add records row i in class k of group g.
	addFloat := func(g, k, c int, wi, bi, y float64) {
		ix := (g*K+k)*C + c
		acc.y[ix] += y
		acc.d[ix] += bi * y
		acc.w[ix] += wi * y
		acc.w2[ix] += wi * wi * y
		acc.yy[(g*K+k)*H+int(stratum[c])] += wi * wi * y * y
	}
	addDomain := func(g, c int, wi, bi float64) {
		ix := g*C + c
		acc.dy[ix]++
		acc.dd[ix] += bi
		acc.dw[ix] += wi
		acc.dw2[ix] += wi * wi
		acc.dyy[g*H+int(stratum[c])] += wi * wi
	}
	n := tb.ds.Rows
	// group returns row i's group, or -1 when the row is not in any.
	group := func(i int) int {
		if filter != nil && !filter[i] {
			return -1
		}
		if by == nil {
			return 0
		}
		code := by.Codes[i]
		if code == 0 || code == NoChoice {
			return -1
		}
		return int(code) - 1
	}
	// The common cases get their own tight loops: choices without nets,
	// weights constant in cells.
	var byCodes []uint16
	if by != nil {
		byCodes = by.Codes
	}
	if acc.constant && col.Kind == SingleChoice && len(acc.nets) == 0 {
		// The domain counts are the sums of the choices' afterwards.
		// Consecutive rows often hit the same counter; four interleaved
		// copies of the counts keep the increments independent.
		codes, size := col.Codes, G*K*C
		cnt4 := make([]uint32, 4*size)
		for i := range n {
			code := codes[i]
			if code == 0 || code == NoChoice {
				continue
			}
			g := 0
			if byCodes != nil {
				b := byCodes[i]
				if b == 0 || b == NoChoice {
					continue
				}
				g = int(b) - 1
			}
			if filter != nil && !filter[i] {
				continue
			}
			cnt4[(i&3)*size+(g*K+int(code)-1)*C+int(cellOf[i])]++
		}
		cnt := acc.cnt
		for j := range cnt {
			cnt[j] = cnt4[j] + cnt4[size+j] + cnt4[2*size+j] + cnt4[3*size+j]
		}
		for g := range G {
			for k := range K {
				row := cnt[(g*K+k)*C : (g*K+k+1)*C]
				dom := acc.dcnt[g*C : (g+1)*C]
				for c, x := range row {
					dom[c] += x
				}
			}
		}
		return acc
	}
	if acc.constant && col.Kind == MultipleChoice && len(acc.nets) == 0 {
		sets, W, size := col.Sets, col.Words, G*K*C
		cnt4 := make([]uint32, 4*size)
		dcnt4 := make([]uint32, 4*G*C)
		for i := range n {
			g := 0
			if byCodes != nil {
				b := byCodes[i]
				if b == 0 || b == NoChoice {
					continue
				}
				g = int(b) - 1
			}
			if filter != nil && !filter[i] {
				continue
			}
			c := int(cellOf[i])
			lane := i & 3
			at := lane*size + g*K*C + c
			answered := false
			for wi, x := range sets[i*W : (i+1)*W] {
				if x != 0 {
					answered = true
				}
				for x != 0 {
					j := wi*64 + bits.TrailingZeros64(x)
					x &= x - 1
					cnt4[at+j*C]++
				}
			}
			if answered {
				dcnt4[lane*G*C+g*C+c]++
			}
		}
		for j := range acc.cnt {
			acc.cnt[j] = cnt4[j] + cnt4[size+j] + cnt4[2*size+j] + cnt4[3*size+j]
		}
		for j := range acc.dcnt {
			gc := G * C
			acc.dcnt[j] = dcnt4[j] + dcnt4[gc+j] + dcnt4[2*gc+j] + dcnt4[3*gc+j]
		}
		return acc
	}
	for i := range n {
		g := group(i)
		if g < 0 {
			continue
		}
		c := int(cellOf[i])
		switch col.Kind {
		case SingleChoice:
			code := col.Codes[i]
			if code == 0 || code == NoChoice {
				continue
			}
			if acc.constant {
				rowBase := g * K
				for _, k := range classesOf[code] {
					acc.cnt[(rowBase+k)*C+c]++
				}
				acc.dcnt[g*C+c]++
			} else {
				for _, k := range classesOf[code] {
					addFloat(g, k, c, w[i], base[i], 1)
				}
				addDomain(g, c, w[i], base[i])
			}
		case MultipleChoice:
			words := col.Sets[i*col.Words : (i+1)*col.Words]
			answered := false
			for _, x := range words {
				if x != 0 {
					answered = true
					break
				}
			}
			if !answered {
				continue
			}
			for wi, x := range words {
				for x != 0 {
					j := wi*64 + bits.TrailingZeros64(x)
					x &= x - 1
					if acc.constant {
						acc.cnt[(g*K+j)*C+c]++
					} else {
						addFloat(g, j, c, w[i], base[i], 1)
					}
				}
			}
			for nk, mask := range netMasks {
				hit := false
				for wi, m := range mask {
					if words[wi]&m != 0 {
						hit = true
						break
					}
				}
				if hit {
					if acc.constant {
						acc.cnt[(g*K+acc.nChoices+nk)*C+c]++
					} else {
						addFloat(g, acc.nChoices+nk, c, w[i], base[i], 1)
					}
				}
			}
			if acc.constant {
				acc.dcnt[g*C+c]++
			} else {
				addDomain(g, c, w[i], base[i])
			}
		case Numeric:
			v := col.Values[i]
			if v != v {
				continue
			}
			addFloat(g, 0, c, w[i], base[i], v)
			addDomain(g, c, w[i], base[i])
			acc.min[g] = math.Min(acc.min[g], v)
			acc.max[g] = math.Max(acc.max[g], v)
		}
	}
	return acc
}

// sums returns the class sums of (g, k) and of group g's domain.
func (tb *Tabulator) sums(acc *accum, g, k int, cls, dom *classSums, scratch []float64) {
	cm := tb.cm
	C, K, H := acc.C, acc.K, acc.H
	if acc.constant {
		for c := range C {
			scratch[c] = float64(acc.cnt[(g*K+k)*C+c])
		}
		cm.fromCounts(cls, scratch)
		for c := range C {
			scratch[c] = float64(acc.dcnt[g*C+c])
		}
		cm.fromCounts(dom, scratch)
		return
	}
	ix := (g*K + k) * C
	cls.y, cls.d, cls.w, cls.w2 = acc.y[ix:ix+C], acc.d[ix:ix+C], acc.w[ix:ix+C], acc.w2[ix:ix+C]
	cls.yy = acc.yy[(g*K+k)*H : (g*K+k+1)*H]
	dx := g * C
	dom.y, dom.d, dom.w, dom.w2 = acc.dy[dx:dx+C], acc.dd[dx:dx+C], acc.dw[dx:dx+C], acc.dw2[dx:dx+C]
	dom.yy = acc.dyy[g*H : (g+1)*H]
}

// domainDF returns the rows of a domain and its design degrees of freedom
// (rows minus the strata they lie in: no clusters on the cell route).
func (tb *Tabulator) domainDF(dom *classSums) (int, int) {
	perStratum := make([]float64, tb.d.nStrat)
	rows := 0.0
	for c, y := range dom.y {
		perStratum[tb.cm.stratum[c]] += y
		rows += y
	}
	strata := 0
	for _, r := range perStratum {
		if r > 0 {
			strata++
		}
	}
	return int(rows), int(rows) - strata
}

// tables turns one pass's sums into a table per group.
func (tb *Tabulator) tables(acc *accum) ([]QuestionTable, error) {
	if tb.cm == nil {
		return tb.rowTables(acc)
	}
	col := acc.col
	out := make([]QuestionTable, acc.G)
	var cls, dom classSums
	scratch := make([]float64, acc.C)
	var e cellEstimate
	for g := range acc.G {
		qt := tb.header(col)
		tb.sums(acc, g, 0, &cls, &dom, scratch)
		nD, df := tb.domainDF(&dom)
		qt.Base = nD
		var WD float64
		for _, x := range dom.w {
			WD += x
		}
		if tb.weighted() {
			wb := Num(WD)
			qt.WeightedBase = &wb
		}
		switch col.Kind {
		case Numeric:
			tb.cm.estimate(&dom, &cls, &e)
			v := tb.cm.variance(&e)
			qt.Summary = tb.numericSummary(e.mu, v, df, acc.min[g], acc.max[g], nD)
		default:
			for k := range acc.K {
				tb.sums(acc, g, k, &cls, &dom, scratch)
				var count float64
				for _, x := range cls.w {
					count += x
				}
				unweighted := 0
				for _, x := range cls.y {
					unweighted += int(x)
				}
				est := tb.choiceEstimate(col, acc, k, nD, df, count, unweighted, &cls, &dom, &e)
				if k < acc.nChoices {
					qt.Choices = append(qt.Choices, est)
				} else {
					qt.Nets = append(qt.Nets, est)
				}
			}
		}
		out[g] = qt
	}
	return out, nil
}

func cloneSums(s classSums) classSums {
	return classSums{y: slices.Clone(s.y), d: slices.Clone(s.d), w: slices.Clone(s.w), w2: slices.Clone(s.w2), yy: slices.Clone(s.yy)}
}

func (tb *Tabulator) header(col *Column) QuestionTable {
	return QuestionTable{Name: col.Question.Name, Type: col.Question.Type, Label: col.Question.Label.In(tb.lang),
		NotRelevant: col.NotRelevant, NotAChoice: col.NotChoice}
}

func (tb *Tabulator) choiceEstimate(col *Column, acc *accum, k, nD, df int, count float64, unweighted int, cls, dom *classSums, e *cellEstimate) ChoiceEstimate {
	est, ok := tb.choiceHeader(col, acc, k, count, unweighted, nD)
	if !ok {
		return est
	}
	tb.cm.estimate(dom, cls, e)
	v := tb.cm.variance(e)
	tb.fillPercent(&est, e.mu, v, df, nD)
	return est
}

// choiceHeader is choice (or net) k's estimate before its percent: its
// name and label (a net's choices), its counts. With an empty domain
// (nD == 0) the percent, SE and CI are NaN and ok is false.
func (tb *Tabulator) choiceHeader(col *Column, acc *accum, k int, count float64, unweighted, nD int) (est ChoiceEstimate, ok bool) {
	est = ChoiceEstimate{Count: Num(count)}
	if k < acc.nChoices {
		est.Name, est.Label = col.Choices[k].Name, col.Choices[k].Label.In(tb.lang)
	} else {
		net := acc.nets[k-acc.nChoices]
		est.Name, est.Choices = net.Name, net.Choices
	}
	if tb.weighted() {
		u := unweighted
		est.UnweightedCount = &u
	}
	if nD == 0 {
		est.Percent, est.SE, est.CILow, est.CIHigh = Num(math.NaN()), Num(math.NaN()), Num(math.NaN()), Num(math.NaN())
		return est, false
	}
	return est, true
}

func (tb *Tabulator) fillPercent(est *ChoiceEstimate, p, v float64, df, n int) {
	v = math.Max(v, 0)
	est.Percent = Num(100 * p)
	est.SE = Num(100 * math.Sqrt(v))
	ci, err := propCI(p, v, df, n, tb.method, tb.level)
	if err != nil || df <= 0 {
		est.CILow, est.CIHigh = Num(math.NaN()), Num(math.NaN())
		return
	}
	est.CILow, est.CIHigh = Num(100*ci.Low), Num(100*ci.High)
}

func (tb *Tabulator) numericSummary(mu, v float64, df int, lo, hi float64, n int) *NumericSummary {
	s := &NumericSummary{Mean: Num(mu), SE: Num(math.Sqrt(math.Max(v, 0))), Min: Num(lo), Max: Num(hi)}
	if n == 0 {
		s.Mean, s.SE, s.Min, s.Max = Num(math.NaN()), Num(math.NaN()), Num(math.NaN()), Num(math.NaN())
	}
	t := tQuantile(1-(1-tb.level)/2, df)
	s.CILow, s.CIHigh = Num(mu-t*float64(s.SE)), Num(mu+t*float64(s.SE))
	return s
}

// association is the Rao–Scott F test of the question against the
// cross-tab's field over the responses answering both (in the filter).
func (tb *Tabulator) association(acc *accum) (ChiSqTest, error) {
	if tb.cm == nil {
		return tb.rowAssociation(acc)
	}
	// Classes: (group, choice), their domain the union of the groups'.
	nr, nc := acc.nChoices, acc.G
	var dom classSums
	tb.cm.alloc(&dom)
	scratch := make([]float64, acc.C)
	type cell struct {
		cls classSums
		est cellEstimate
	}
	cells := make([]*cell, nr*nc)
	var tmpDom classSums
	for g := range nc {
		for j := range nr {
			c := &cell{}
			var cls classSums
			tb.sums(acc, g, j, &cls, &tmpDom, scratch)
			c.cls = cloneSums(cls)
			cells[j+nr*g] = c
		}
		for c := range acc.C {
			dom.y[c] += tmpDom.y[c]
			dom.d[c] += tmpDom.d[c]
			dom.w[c] += tmpDom.w[c]
			dom.w2[c] += tmpDom.w2[c]
		}
		for h := range tmpDom.yy {
			dom.yy[h] += tmpDom.yy[h]
		}
	}
	// Keep the levels present among the responses answering both.
	rowTot := make([]float64, nr)
	colTot := make([]float64, nc)
	for j := range nr {
		for g := range nc {
			for _, x := range cells[j+nr*g].cls.y {
				rowTot[j] += x
				colTot[g] += x
			}
		}
	}
	var rows, cols []int
	for j, t := range rowTot {
		if t > 0 {
			rows = append(rows, j)
		}
	}
	for g, t := range colTot {
		if t > 0 {
			cols = append(cols, g)
		}
	}
	pr, pc := len(rows), len(cols)
	if pr < 2 || pc < 2 {
		return ChiSqTest{}, errors.New("stats: fewer than two levels")
	}
	k := pr * pc
	ests := make([]*cellEstimate, k)
	mean2 := make([]float64, k)
	table := make([]float64, k)
	for a, g := range cols {
		for b, j := range rows {
			c := cells[j+nr*g]
			tb.cm.estimate(&dom, &c.cls, &c.est)
			idx := b + pr*a
			ests[idx] = &c.est
			mean2[idx] = c.est.mu
			for _, x := range c.cls.w {
				table[idx] += x
			}
		}
	}
	V := newSquare(k)
	for a := range k {
		for b := a; b < k; b++ {
			ea, eb := ests[a], ests[b]
			v := tb.cm.cov(ea, eb, a == b)
			V[a][b], V[b][a] = v, v
		}
	}
	// N and ν as svychisq on the design restricted to the filter: its
	// rows, and rows minus strata.
	N := tb.ds.Rows
	strata := map[int32]bool{}
	if tb.filter != nil {
		N = 0
		for i, in := range tb.filter {
			if in {
				N++
				strata[tb.d.strata[i]] = true
			}
		}
	} else {
		for h := range tb.d.nStrat {
			strata[int32(h)] = true
		}
	}
	return raoScott(mean2, V, table, float64(N), N-len(strata), pr, pc, ChiSqF)
}
