package clean

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/form/expr"
	"github.com/govsurvey/govsurvey/store"
)

// noDuration marks a response without both timestamps: not checked for
// speeding and not part of the median.
const noDuration = math.MinInt64

// check is one row of the checks sheet of the latest form revision.
type check struct {
	name string
	e    *expr.Expr
	code uint16
}

// cleaner applies the rules to a stream of responses in submission order
// (SubmittedAt, then InstanceID: the order that decides which of two
// duplicates is the earlier). Everything but speeding is decided as each
// response arrives; speeding needs the median, known at the end. Memory per
// response is its instance id, its duration and, for duplicates, a 16-byte
// digest: never its answers (except with the near-duplicate index on).
type cleaner struct {
	s      Settings
	checks []check
	codes  []string // reason codes by id, in the canonical order of a flag's reasons
	ids    map[string]uint16

	load func(revision int) (*form.Form, error)
	revs map[int]*revState

	names     []byte   // instance ids, back to back
	nameEnd   []uint32 // nameEnd[i]: end of response i's id in names
	durations []int64  // microseconds, or noDuration
	reasons   map[int32][]uint16

	seen   map[[16]byte]struct{} // duplicate digests of client + answers
	seeds  [2]maphash.Seed       // two 64-bit hashes make the 16-byte digest
	buf    []byte                // digest input, reused
	burst  *burstIndex
	near   *nearIndex
	scored []uint16 // reasons of the response being judged, reused

	// watch holds the overridden instance ids; add sets those it sees, so
	// the funnel counts only overrides of responses in the run.
	watch map[string]bool
}

// revState is a compiled revision with its reusable decode buffer.
type revState struct {
	*revision
	env env
}

func newCleaner(s Settings, latest *form.Form, load func(int) (*form.Form, error)) (*cleaner, error) {
	c := &cleaner{
		s:       s,
		load:    load,
		revs:    make(map[int]*revState),
		reasons: make(map[int32][]uint16),
		ids:     make(map[string]uint16),
	}
	var checks []form.Check
	if s.Consistency {
		checks = slices.Clone(latest.Checks)
		sort.SliceStable(checks, func(i, j int) bool { return checks[i].Name < checks[j].Name })
	}
	add := func(code string) uint16 {
		if id, ok := c.ids[code]; ok {
			return id
		}
		id := uint16(len(c.codes))
		c.codes = append(c.codes, code)
		c.ids[code] = id
		return id
	}
	for _, code := range []string{ReasonDuplicate, ReasonSpeeding, ReasonIncomplete, ReasonInvalidValue} {
		add(code)
	}
	for _, ch := range checks {
		e, err := expr.Parse(ch.Expression)
		if err != nil {
			return nil, fmt.Errorf("clean: form %s: check %s: %w", latest.ID, ch.Name, err)
		}
		c.checks = append(c.checks, check{name: ch.Name, e: e, code: add(ReasonConsistencyPrefix + ch.Name)})
	}
	for _, code := range []string{ReasonHoneypot, ReasonStraightlining, ReasonAttention, ReasonNearDuplicate, ReasonBurst} {
		add(code)
	}
	if len(c.codes) > math.MaxUint16 {
		return nil, fmt.Errorf("clean: form %s has too many checks", latest.ID)
	}
	if s.Duplicate {
		c.seen = make(map[[16]byte]struct{})
		c.seeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}
	}
	if s.Burst {
		c.burst = newBurstIndex(s.BurstWindow, s.BurstMax)
	}
	if s.NearDuplicate {
		c.near = newNearIndex(s.NearDuplicateShare)
	}
	return c, nil
}

// reserve makes room for about n responses, so that the per-response
// arrays do not grow (and copy) their way up to a million entries.
func (c *cleaner) reserve(n int) {
	c.names = slices.Grow(c.names, n*36) // a UUID is 36 bytes
	c.nameEnd = slices.Grow(c.nameEnd, n)
	c.durations = slices.Grow(c.durations, n)
	if c.seen != nil {
		c.seen = make(map[[16]byte]struct{}, n)
	}
}

func (c *cleaner) revision(n int) (*revState, error) {
	if rs, ok := c.revs[n]; ok {
		return rs, nil
	}
	f, err := c.load(n)
	if err != nil {
		return nil, err
	}
	rv, err := compileRevision(n, f)
	if err != nil {
		return nil, err
	}
	rs := &revState{revision: rv, env: env{vals: make([]string, len(rv.fields)), pos: rv.pos}}
	c.revs[n] = rs
	return rs, nil
}

func (c *cleaner) flag(code string) {
	id := c.ids[code]
	if !slices.Contains(c.scored, id) {
		c.scored = append(c.scored, id)
	}
}

// add judges the next response of the stream.
func (c *cleaner) add(r store.Response) error {
	rs, err := c.revision(r.Revision)
	if err != nil {
		return err
	}
	e := &rs.env
	if err := rs.f.DecodeInto(r.Answers, e.vals); err != nil {
		return fmt.Errorf("clean: response %s of form %s: %w", r.InstanceID, r.FormID, err)
	}
	// today() is the day the response was submitted, not the day it is
	// cleaned: the same data gives the same flags next year too.
	e.now = r.SubmittedAt
	e.current = ""
	idx := int32(len(c.durations))
	c.names = append(c.names, r.InstanceID...)
	c.nameEnd = append(c.nameEnd, uint32(len(c.names)))
	d := int64(noDuration)
	if !r.Started.IsZero() && !r.Ended.IsZero() {
		d = r.Ended.Sub(r.Started).Microseconds()
	}
	c.durations = append(c.durations, d)
	c.scored = c.scored[:0]
	if _, ok := c.watch[r.InstanceID]; ok {
		c.watch[r.InstanceID] = true
	}

	if c.seen != nil && r.Client != "" {
		key := c.digest(r.Client, rs)
		if _, dup := c.seen[key]; dup {
			c.flag(ReasonDuplicate)
		} else {
			c.seen[key] = struct{}{}
		}
	}
	if c.s.Incomplete && incomplete(rs.revision, e) {
		c.flag(ReasonIncomplete)
	}
	if c.s.InvalidValue {
		for i := range rs.values {
			vf := &rs.values[i]
			if v := e.vals[vf.pos]; v != "" && !vf.valid(v) {
				c.flag(ReasonInvalidValue)
				break
			}
		}
	}
	for _, ch := range c.checks {
		if !ch.e.EvalBool(e) {
			c.flag(ReasonConsistencyPrefix + ch.name)
		}
	}
	if c.s.Honeypot && r.Honeypot {
		c.flag(ReasonHoneypot)
	}
	if c.s.Straightlining && straightlined(rs.revision, e.vals, c.s.StraightliningRun) {
		c.flag(ReasonStraightlining)
	}
	if c.s.Attention && failsAttention(rs.revision, e) {
		c.flag(ReasonAttention)
	}
	if c.near != nil && c.near.add(idx, r, rs) {
		c.flag(ReasonNearDuplicate)
	}
	if c.burst != nil && c.burst.add(r) {
		c.flag(ReasonBurst)
	}
	if len(c.scored) > 0 {
		c.reasons[idx] = slices.Clone(c.scored)
	}
	return nil
}

// digest is the duplicate key of a response: a hash of its client and of
// its answered fields by name, so that two revisions of a form that order
// their fields differently still agree. Lengths are written before names
// and values, so no two different responses give the same input. The hash
// is two seeded 64-bit maphashes (hardware AES, several times faster than
// SHA-256): two different inputs share a digest with probability 2⁻¹²⁸,
// nothing for a million responses.
func (c *cleaner) digest(client string, rs *revState) [16]byte {
	b := c.buf[:0]
	b = binary.AppendUvarint(b, uint64(len(client)))
	b = append(b, client...)
	for _, i := range rs.byName {
		v := rs.env.vals[i]
		if v == "" {
			continue
		}
		name := rs.fields[i].Name
		b = binary.AppendUvarint(b, uint64(len(name)))
		b = append(b, name...)
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	c.buf = b
	var key [16]byte
	binary.LittleEndian.PutUint64(key[:8], maphash.Bytes(c.seeds[0], b))
	binary.LittleEndian.PutUint64(key[8:], maphash.Bytes(c.seeds[1], b))
	return key
}

// incomplete reports whether a required question whose relevance holds is
// unanswered. The cheap test (unanswered) comes first: most responses
// answer everything, and then no expression is evaluated.
func incomplete(rv *revision, e *env) bool {
	for _, rf := range rv.required {
		if e.vals[rf.pos] != "" {
			continue
		}
		if rf.requiredIf != nil && !rf.requiredIf.EvalBool(e) {
			continue
		}
		if rf.relevant.holds(e) {
			return true
		}
	}
	return false
}

// straightlined reports whether a battery holds a run of at least run
// identical consecutive answers (the whole battery when run is 0). An
// unanswered item breaks a run.
func straightlined(rv *revision, vals []string, run int) bool {
	for _, items := range rv.batteries {
		need := run
		if need == 0 {
			need = len(items)
		}
		longest, cur := 0, 0
		for k, pos := range items {
			switch v := vals[pos]; {
			case v == "":
				cur = 0
			case k > 0 && cur > 0 && v == vals[items[k-1]]:
				cur++
			default:
				cur = 1
			}
			longest = max(longest, cur)
		}
		if longest >= need {
			return true
		}
	}
	return false
}

// failsAttention reports whether a relevant attention-check question was
// not given its required answer (unanswered fails too).
func failsAttention(rv *revision, e *env) bool {
	for _, a := range rv.attention {
		if e.vals[a.pos] == a.want {
			continue
		}
		e.current = e.vals[a.pos]
		ok := a.relevant.holds(e)
		e.current = ""
		if ok {
			return true
		}
	}
	return false
}

// result is a finished run: the flags and the numbers of the funnel.
type result struct {
	collected int
	flags     []store.Flag
	median    float64 // microseconds; NaN without durations
	watched   map[string]bool
}

// finish applies speeding and returns the flags in stream order, each
// response's reasons in canonical order.
func (c *cleaner) finish(formID string) result {
	res := result{collected: len(c.durations), median: math.NaN(), watched: c.watch}
	if c.s.Speeding {
		var ds []int64
		for _, d := range c.durations {
			if d != noDuration {
				ds = append(ds, d)
			}
		}
		if len(ds) > 0 {
			res.median = median(ds)
			limit := c.s.SpeedingRatio * res.median
			id := c.ids[ReasonSpeeding]
			for i, d := range c.durations {
				if d != noDuration && float64(d) < limit {
					c.reasons[int32(i)] = append(c.reasons[int32(i)], id)
				}
			}
		}
	}
	idx := make([]int32, 0, len(c.reasons))
	for i := range c.reasons {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	res.flags = make([]store.Flag, 0, len(idx))
	for _, i := range idx {
		ids := c.reasons[i]
		slices.Sort(ids)
		codes := make([]string, len(ids))
		for k, id := range ids {
			codes[k] = c.codes[id]
		}
		res.flags = append(res.flags, store.Flag{FormID: formID, InstanceID: c.name(i), Reasons: codes})
	}
	return res
}

func (c *cleaner) name(i int32) string {
	start := uint32(0)
	if i > 0 {
		start = c.nameEnd[i-1]
	}
	return string(c.names[start:c.nameEnd[i]])
}

// median sorts ds and returns its median: the middle value, or the mean of
// the two middle values of an even count.
func median(ds []int64) float64 {
	slices.Sort(ds)
	n := len(ds)
	if n%2 == 1 {
		return float64(ds[n/2])
	}
	return (float64(ds[n/2-1]) + float64(ds[n/2])) / 2
}

// reasonLess orders reason codes canonically: the §3 rules in the order of
// the table, consistency checks by name, then the further indices. It is
// the order of a flag's reasons and of the funnel.
func reasonLess(a, b string) bool {
	ra, rb := reasonRank(a), reasonRank(b)
	if ra != rb {
		return ra < rb
	}
	return a < b
}

func reasonRank(code string) int {
	if strings.HasPrefix(code, ReasonConsistencyPrefix) {
		return 4
	}
	for i, c := range []string{ReasonDuplicate, ReasonSpeeding, ReasonIncomplete, ReasonInvalidValue, "", ReasonHoneypot,
		ReasonStraightlining, ReasonAttention, ReasonNearDuplicate, ReasonBurst} {
		if c == code {
			return i
		}
	}
	return 100 // a code of another rule version: last, by name
}
