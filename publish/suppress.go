package publish

import (
	"fmt"
	"slices"
)

// Small-cell suppression of one two-way table of unweighted counts with its
// margins (row totals, column totals, grand total).
//
// The table is handled as its (R+1)×(C+1) extension: cell (i, C) is row i's
// total, (R, j) column j's, and (R, C) the grand total, so that every row
// and every column of the extension is one linear equation (the entries
// sum to its total). An entry is unknown to a reader when it is suppressed
// or when the table does not publish it (a margin left out by design). A
// suppressed entry can be solved from the published ones exactly when it
// is a bridge of the bipartite graph whose vertices are the extension's
// rows and columns and whose edges are its unknown entries: an edge on a
// cycle can move along the cycle (+1, −1, …) without changing any total.
// So complementary suppression adds the smallest published entries until
// no suppressed entry is a bridge; "at least two unknown entries in every
// line that has one" is the special case of a leaf.

// DefaultMinCount is the threshold below which a count is suppressed.
const DefaultMinCount = 10

// Rule is the suppression rule stated in a release's metadata.
type Rule struct {
	// MinCount: a published count n with 0 < n < MinCount is suppressed
	// (primary suppression). Zeros are published: an empty cell names no
	// respondent.
	MinCount int `json:"min_count"`
	// Method names the complementary suppression, for the metadata.
	Method string `json:"method"`
}

// DefaultRule is the rule with the default threshold.
func DefaultRule() Rule {
	return Rule{MinCount: DefaultMinCount, Method: methodName}
}

const methodName = "primary: 0 < count < min_count; complementary: for each suppressed entry still solvable, the cheapest rectangle of entries (fewest zeros, then smallest sum, inner cells before margins), repeated until no suppressed entry can be solved from the published row and column totals (no suppressed entry is a bridge of the graph of unknown entries); percentages, standard errors and intervals of suppressed cells are suppressed too"

// Grid is a table of counts and which of its margins it publishes.
type Grid struct {
	Counts [][]int // R rows × C columns, every row the same length
	// RowTotals, ColTotals: the table publishes each row's (column's) sum
	// of counts. The grand total is treated as published when either is,
	// since it follows from them.
	RowTotals, ColTotals bool
	// Force, when not nil (R × C), marks cells to suppress as primary
	// whatever their count (a select_multiple column of a small group).
	Force [][]bool
	// Margins linked to other tables of the release (nil: none). A
	// margin another table publishes is Fixed here: a reader knows it, so
	// it is never suppressed to protect a cell (unless it is itself
	// small). One another table suppresses is Forced here.
	FixedRow, ForceRow []bool // R
	FixedCol, ForceCol []bool // C
}

// Mask says which entries of a Grid are suppressed.
type Mask struct {
	Cells     [][]bool // R × C
	RowTotals []bool   // R; false where the grid does not publish them
	ColTotals []bool   // C
	Grand     bool
	// Primary counts entries below the threshold; Complementary those
	// suppressed only to protect them.
	Primary, Complementary int
}

// Suppressed reports whether any entry is suppressed.
func (m Mask) Suppressed() bool { return m.Primary+m.Complementary > 0 }

// Suppress applies rule to g.
func Suppress(g Grid, rule Rule) (Mask, error) {
	if rule.MinCount <= 0 {
		return Mask{}, fmt.Errorf("publish: min count %d is not positive", rule.MinCount)
	}
	R := len(g.Counts)
	C := 0
	if R > 0 {
		C = len(g.Counts[0])
	}
	for i, row := range g.Counts {
		if len(row) != C {
			return Mask{}, fmt.Errorf("publish: row %d has %d cells, row 0 has %d", i, len(row), C)
		}
		for j, v := range row {
			if v < 0 {
				return Mask{}, fmt.Errorf("publish: cell (%d, %d) is negative", i, j)
			}
		}
	}
	e := newExtension(g)
	// Primary suppression.
	for i := range e.val {
		for j := range e.val[i] {
			forced := (i < e.R && j < e.C && g.Force != nil && g.Force[i][j]) ||
				(i < e.R && j == e.C && g.ForceRow != nil && g.ForceRow[i]) ||
				(i == e.R && j < e.C && g.ForceCol != nil && g.ForceCol[j])
			if e.published[i][j] && (forced || e.val[i][j] > 0 && e.val[i][j] < rule.MinCount) {
				e.sup[i][j] = true
				e.primary++
			}
		}
	}
	// Complementary suppression, one entry at a time, until stable. Each
	// step suppresses one more entry, so it ends.
	for e.complementOne() {
	}
	m := Mask{Cells: make([][]bool, R), RowTotals: make([]bool, R), ColTotals: make([]bool, C),
		Primary: e.primary, Complementary: e.complementary}
	for i := range R {
		m.Cells[i] = slices.Clone(e.sup[i][:C])
		m.RowTotals[i] = e.sup[i][C]
	}
	for j := range C {
		m.ColTotals[j] = e.sup[R][j]
	}
	m.Grand = e.sup[R][C]
	return m, nil
}

// extension is the (R+1)×(C+1) table being suppressed.
type extension struct {
	R, C      int
	val       [][]int
	published [][]bool // published by design
	fixed     [][]bool // published elsewhere: never a complement
	sup       [][]bool
	primary   int
	// complementary counts the entries added to protect others.
	complementary int
}

func newExtension(g Grid) *extension {
	R := len(g.Counts)
	C := 0
	if R > 0 {
		C = len(g.Counts[0])
	}
	e := &extension{R: R, C: C}
	e.val = make([][]int, R+1)
	e.published = make([][]bool, R+1)
	e.fixed = make([][]bool, R+1)
	e.sup = make([][]bool, R+1)
	for i := range R + 1 {
		e.val[i] = make([]int, C+1)
		e.published[i] = make([]bool, C+1)
		e.fixed[i] = make([]bool, C+1)
		e.sup[i] = make([]bool, C+1)
	}
	for i := range R {
		e.fixed[i][C] = g.FixedRow != nil && g.FixedRow[i]
	}
	for j := range C {
		e.fixed[R][j] = g.FixedCol != nil && g.FixedCol[j]
	}
	for i := range R {
		for j := range C {
			v := g.Counts[i][j]
			e.val[i][j] = v
			e.val[i][C] += v
			e.val[R][j] += v
			e.val[R][C] += v
			e.published[i][j] = true
		}
		e.published[i][C] = g.RowTotals
	}
	for j := range C {
		e.published[R][j] = g.ColTotals
	}
	e.published[R][C] = g.RowTotals || g.ColTotals
	return e
}

// unknown reports whether a reader does not see entry (i, j).
func (e *extension) unknown(i, j int) bool { return e.sup[i][j] || !e.published[i][j] }

// complementOne protects one suppressed entry that can still be solved,
// if there is one, and reports whether it did. The entry (i, j) is a
// bridge; it gets the cheapest rectangle (i, j), (i, c), (r, c), (r, j) of
// the extension, which puts it on a cycle: the fewest suppressed zeros (a
// zero protects in one direction only), then the smallest sum of newly
// suppressed counts, then the fewest new entries, margins last.
func (e *extension) complementOne() bool {
	for i := range e.R + 1 {
		for j := range e.C + 1 {
			if !e.sup[i][j] {
				continue
			}
			if _, _, bridge := e.sides(i, j); !bridge {
				continue
			}
			var best []([2]int)
			var bestCost [5]int
			for r := range e.R + 1 {
				for c := range e.C + 1 {
					if r == i || c == j {
						continue
					}
					var add [][2]int
					var cost [5]int
					usable := true
					for _, p := range [][2]int{{i, c}, {r, c}, {r, j}} {
						if e.unknown(p[0], p[1]) {
							continue
						}
						if e.fixed[p[0]][p[1]] {
							usable = false
						}
						add = append(add, p)
						v := e.val[p[0]][p[1]]
						cost[0] += boolInt(v == 0)
						cost[1] += v
						cost[2]++
						cost[3] += boolInt(p[0] == e.R || p[1] == e.C)
					}
					if !usable {
						continue
					}
					if best == nil || less(cost, bestCost) {
						best, bestCost = add, cost
						if best == nil {
							best = [][2]int{}
						}
					}
				}
			}
			if best == nil {
				// Every rectangle needs an entry published elsewhere (a
				// table of one row or column): publish nothing of it.
				return e.suppressAll()
			}
			for _, p := range best {
				e.sup[p[0]][p[1]] = true
				e.complementary++
			}
			return len(best) > 0
		}
	}
	return false
}

// suppressAll suppresses every published entry; it reports whether that
// changed anything.
func (e *extension) suppressAll() bool {
	changed := false
	for i := range e.R + 1 {
		for j := range e.C + 1 {
			if e.published[i][j] && !e.sup[i][j] {
				e.sup[i][j] = true
				e.complementary++
				changed = true
			}
		}
	}
	return changed
}

func less(a, b [5]int) bool {
	for k := range a {
		if a[k] != b[k] {
			return a[k] < b[k]
		}
	}
	return false
}

// component is a set of the extension's rows and columns.
type component struct{ rows, cols []bool }

// sides removes the unknown entry (i, j) from the graph and returns the
// components of row i and of column j; bridge is false when they are one.
func (e *extension) sides(i, j int) (component, component, bool) {
	a := e.reach(i, -1, i, j)
	if a.cols[j] {
		return a, a, false
	}
	b := e.reach(-1, j, i, j)
	return a, b, true
}

// reach walks the graph of unknown entries, leaving out the edge (si, sj),
// from row r0 (or column c0 when r0 < 0).
func (e *extension) reach(r0, c0, si, sj int) component {
	comp := component{rows: make([]bool, e.R+1), cols: make([]bool, e.C+1)}
	type node struct {
		row bool
		k   int
	}
	var stack []node
	if r0 >= 0 {
		comp.rows[r0] = true
		stack = append(stack, node{true, r0})
	} else {
		comp.cols[c0] = true
		stack = append(stack, node{false, c0})
	}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n.row {
			for c := range e.C + 1 {
				if !comp.cols[c] && e.unknown(n.k, c) && !(n.k == si && c == sj) {
					comp.cols[c] = true
					stack = append(stack, node{false, c})
				}
			}
		} else {
			for r := range e.R + 1 {
				if !comp.rows[r] && e.unknown(r, n.k) && !(r == si && n.k == sj) {
					comp.rows[r] = true
					stack = append(stack, node{true, r})
				}
			}
		}
	}
	return comp
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
