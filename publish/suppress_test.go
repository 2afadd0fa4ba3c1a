package publish

import (
	"math/big"
	"math/rand/v2"
	"testing"
)

// solvable is the test's own check, independent of Suppress's graph
// argument: it writes every row and column equation of the table with
// margins over the entries a reader does not see and reports, for each
// hidden entry, whether linear algebra alone pins it down (its unit
// vector lies in the row space of the equations).
func solvable(g Grid, m Mask) map[[2]int]bool {
	R, C := len(g.Counts), len(g.Counts[0])
	hidden := func(i, j int) bool {
		switch {
		case i < R && j < C:
			return m.Cells[i][j]
		case i < R:
			return !g.RowTotals || m.RowTotals[i]
		case j < C:
			return !g.ColTotals || m.ColTotals[j]
		}
		return !(g.RowTotals || g.ColTotals) || m.Grand
	}
	idx := map[[2]int]int{}
	var vars [][2]int
	for i := 0; i <= R; i++ {
		for j := 0; j <= C; j++ {
			if hidden(i, j) {
				idx[[2]int{i, j}] = len(vars)
				vars = append(vars, [2]int{i, j})
			}
		}
	}
	n := len(vars)
	var rows [][]*big.Rat
	add := func(cells [][2]int, total [2]int) {
		row := make([]*big.Rat, n)
		for k := range row {
			row[k] = new(big.Rat)
		}
		any := false
		for _, c := range cells {
			if k, ok := idx[c]; ok {
				row[k].Add(row[k], big.NewRat(1, 1))
				any = true
			}
		}
		if k, ok := idx[total]; ok {
			row[k].Sub(row[k], big.NewRat(1, 1))
			any = true
		}
		if any {
			rows = append(rows, row)
		}
	}
	for i := 0; i <= R; i++ {
		var cells [][2]int
		for j := 0; j < C; j++ {
			cells = append(cells, [2]int{i, j})
		}
		add(cells, [2]int{i, C})
	}
	for j := 0; j <= C; j++ {
		var cells [][2]int
		for i := 0; i < R; i++ {
			cells = append(cells, [2]int{i, j})
		}
		add(cells, [2]int{R, j})
	}
	base := rank(rows, n)
	out := map[[2]int]bool{}
	for k, v := range vars {
		unit := make([]*big.Rat, n)
		for c := range unit {
			unit[c] = new(big.Rat)
		}
		unit[k].SetInt64(1)
		out[v] = rank(append(clone(rows), unit), n) == base
	}
	return out
}

func clone(rows [][]*big.Rat) [][]*big.Rat {
	out := make([][]*big.Rat, len(rows))
	for i, r := range rows {
		out[i] = make([]*big.Rat, len(r))
		for j, x := range r {
			out[i][j] = new(big.Rat).Set(x)
		}
	}
	return out
}

// rank is Gaussian elimination over the rationals (it changes rows).
func rank(rows [][]*big.Rat, n int) int {
	rows = clone(rows)
	r := 0
	for c := 0; c < n && r < len(rows); c++ {
		p := -1
		for i := r; i < len(rows); i++ {
			if rows[i][c].Sign() != 0 {
				p = i
				break
			}
		}
		if p < 0 {
			continue
		}
		rows[r], rows[p] = rows[p], rows[r]
		for i := range rows {
			if i == r || rows[i][c].Sign() == 0 {
				continue
			}
			f := new(big.Rat).Quo(rows[i][c], rows[r][c])
			for k := c; k < n; k++ {
				rows[i][k].Sub(rows[i][k], new(big.Rat).Mul(f, rows[r][k]))
			}
		}
		r++
	}
	return r
}

// checkSafe fails t when a published entry is below the threshold or a
// suppressed one can be solved.
func checkSafe(t *testing.T, g Grid, m Mask, min int) {
	t.Helper()
	R, C := len(g.Counts), len(g.Counts[0])
	rowSum, colSum, grand := make([]int, R), make([]int, C), 0
	for i := range R {
		for j := range C {
			v := g.Counts[i][j]
			rowSum[i] += v
			colSum[j] += v
			grand += v
			if !m.Cells[i][j] && v > 0 && v < min {
				t.Errorf("cell (%d,%d) = %d published", i, j, v)
			}
		}
	}
	for i, v := range rowSum {
		if g.RowTotals && !m.RowTotals[i] && v > 0 && v < min {
			t.Errorf("row total %d = %d published", i, v)
		}
	}
	for j, v := range colSum {
		if g.ColTotals && !m.ColTotals[j] && v > 0 && v < min {
			t.Errorf("column total %d = %d published", j, v)
		}
	}
	if (g.RowTotals || g.ColTotals) && !m.Grand && grand > 0 && grand < min {
		t.Errorf("grand total %d published", grand)
	}
	for i := range R {
		for j := range C {
			if m.Cells[i][j] && solvable(g, m)[[2]int{i, j}] {
				t.Errorf("suppressed cell (%d,%d) = %d can be solved from the margins; mask %v", i, j, g.Counts[i][j], m.Cells)
			}
		}
	}
	for i := range R {
		if g.RowTotals && m.RowTotals[i] && solvable(g, m)[[2]int{i, C}] {
			t.Errorf("suppressed row total %d can be solved", i)
		}
	}
	for j := range C {
		if g.ColTotals && m.ColTotals[j] && solvable(g, m)[[2]int{R, j}] {
			t.Errorf("suppressed column total %d can be solved", j)
		}
	}
}

// checkLinked: a forced margin is not published; a fixed one is, unless
// it is small or the whole table had to go.
func checkLinked(t *testing.T, g Grid, m Mask, min int) {
	t.Helper()
	if g.FixedRow == nil {
		return
	}
	all := true
	for i := range m.Cells {
		for j := range m.Cells[i] {
			all = all && m.Cells[i][j]
		}
	}
	for i, row := range g.Counts {
		n := 0
		for _, v := range row {
			n += v
		}
		if g.RowTotals && g.ForceRow[i] && !m.RowTotals[i] {
			t.Errorf("row total %d forced but published", i)
		}
		if g.RowTotals && g.FixedRow[i] && m.RowTotals[i] && !(n > 0 && n < min) && !all {
			t.Errorf("row total %d = %d, published elsewhere, suppressed here", i, n)
		}
	}
	for j := range g.Counts[0] {
		n := 0
		for i := range g.Counts {
			n += g.Counts[i][j]
		}
		if g.ColTotals && g.ForceCol[j] && !m.ColTotals[j] {
			t.Errorf("column total %d forced but published", j)
		}
		if g.ColTotals && g.FixedCol[j] && m.ColTotals[j] && !(n > 0 && n < min) && !all {
			t.Errorf("column total %d = %d, published elsewhere, suppressed here", j, n)
		}
	}
}

func TestSuppressHandWorked(t *testing.T) {
	tests := []struct {
		name           string
		g              Grid
		primary, compl int
		cells          [][]bool
	}{
		{
			name: "one small cell takes the smallest of its row and column and their corner",
			g: Grid{Counts: [][]int{
				{3, 40, 25},
				{30, 50, 60},
				{20, 12, 70},
			}, RowTotals: true, ColTotals: true},
			// 3 is primary. The rectangles through it cost (new cells'
			// sum): rows 1/2 × columns 1/2 give 30+40+50 = 120,
			// 30+25+60 = 115, 20+40+12 = 72, 20+25+70 = 115; those
			// through margins cost more. The cheapest is rows 0, 2 ×
			// columns 0, 1.
			primary: 1, compl: 3,
			cells: [][]bool{{true, true, false}, {false, false, false}, {true, true, false}},
		},
		{
			name:    "nothing small, nothing suppressed",
			g:       Grid{Counts: [][]int{{10, 20}, {30, 40}}, RowTotals: true, ColTotals: true},
			primary: 0, compl: 0,
			cells: [][]bool{{false, false}, {false, false}},
		},
		{
			name:    "zeros are published and not chosen while others exist",
			g:       Grid{Counts: [][]int{{0, 5, 30}, {0, 40, 30}}, RowTotals: true, ColTotals: true},
			primary: 1, compl: 3,
			cells: [][]bool{{false, true, true}, {false, true, true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Suppress(tt.g, DefaultRule())
			if err != nil {
				t.Fatal(err)
			}
			if m.Primary != tt.primary || m.Complementary != tt.compl {
				t.Errorf("primary %d, complementary %d; want %d, %d", m.Primary, m.Complementary, tt.primary, tt.compl)
			}
			for i := range tt.cells {
				for j := range tt.cells[i] {
					if m.Cells[i][j] != tt.cells[i][j] {
						t.Errorf("cell (%d,%d) suppressed %v, want %v", i, j, m.Cells[i][j], tt.cells[i][j])
					}
				}
			}
			checkSafe(t, tt.g, m, DefaultMinCount)
		})
	}
}

// TestSuppressBridge is the case "two per line" misses: two suppressed
// rectangles joined by one suppressed cell, which the margins solve.
func TestSuppressBridge(t *testing.T) {
	// Rows 0–1 × columns 0–1 and rows 2–3 × columns 2–3 are small (all
	// suppressed), and (0, 2) = 5 too: every line then has two or more
	// suppressed cells, yet (0, 2) is the only link between the blocks.
	g := Grid{Counts: [][]int{
		{4, 6, 5, 90},
		{7, 8, 80, 95},
		{85, 70, 3, 2},
		{75, 99, 9, 1},
	}, RowTotals: true, ColTotals: true}
	m, err := Suppress(g, DefaultRule())
	if err != nil {
		t.Fatal(err)
	}
	checkSafe(t, g, m, DefaultMinCount)
	// The independent checker confirms the premise: with only the small
	// cells suppressed, (0, 2) is solvable.
	naive := Mask{Cells: make([][]bool, 4), RowTotals: make([]bool, 4), ColTotals: make([]bool, 4)}
	for i := range 4 {
		naive.Cells[i] = make([]bool, 4)
		for j := range 4 {
			naive.Cells[i][j] = g.Counts[i][j] < 10
		}
	}
	if !solvable(g, naive)[[2]int{0, 2}] {
		t.Fatal("premise: the joining cell should be solvable under the naive mask")
	}
}

func TestSuppressMarginsByDesign(t *testing.T) {
	tests := []struct {
		name string
		g    Grid
	}{
		{"frequency: one column, column total only", Grid{Counts: [][]int{{120}, {4}, {60}, {33}}, ColTotals: true}},
		{"two small in one column", Grid{Counts: [][]int{{120}, {4}, {6}, {33}}, ColTotals: true}},
		{"row totals only (multiple choice by group)", Grid{Counts: [][]int{{50, 3, 40}, {60, 70, 80}}, RowTotals: true}},
		{"no margins", Grid{Counts: [][]int{{50, 3}, {60, 70}}}},
		{"small row total", Grid{Counts: [][]int{{4, 3, 0}, {60, 70, 80}, {30, 20, 40}}, RowTotals: true, ColTotals: true}},
		{"tiny table", Grid{Counts: [][]int{{1, 2}, {3, 1}}, RowTotals: true, ColTotals: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Suppress(tt.g, DefaultRule())
			if err != nil {
				t.Fatal(err)
			}
			checkSafe(t, tt.g, m, DefaultMinCount)
		})
	}
}

// TestSuppressRandom is the property: on random tables, with a fixed
// seed, nothing below the threshold is published and nothing suppressed
// can be solved from the margins.
func TestSuppressRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(2019, 12))
	for n := range 300 {
		R, C := 1+rng.IntN(5), 1+rng.IntN(5)
		g := Grid{Counts: make([][]int, R), RowTotals: rng.IntN(4) != 0, ColTotals: rng.IntN(4) != 0}
		for i := range R {
			g.Counts[i] = make([]int, C)
			for j := range C {
				switch rng.IntN(4) {
				case 0:
					g.Counts[i][j] = rng.IntN(10) // small or zero
				default:
					g.Counts[i][j] = rng.IntN(200)
				}
			}
		}
		// Some margins linked to other tables: published there (fixed)
		// or suppressed there (forced).
		if rng.IntN(2) == 0 {
			g.FixedRow, g.ForceRow = make([]bool, R), make([]bool, R)
			for i := range R {
				switch rng.IntN(4) {
				case 0:
					g.ForceRow[i] = true
				case 1, 2:
					g.FixedRow[i] = true
				}
			}
			g.FixedCol, g.ForceCol = make([]bool, C), make([]bool, C)
			for j := range C {
				switch rng.IntN(4) {
				case 0:
					g.ForceCol[j] = true
				case 1, 2:
					g.FixedCol[j] = true
				}
			}
		}
		min := 5 + rng.IntN(10)
		m, err := Suppress(g, Rule{MinCount: min})
		if err != nil {
			t.Fatal(err)
		}
		ok := t.Run("", func(t *testing.T) {
			checkSafe(t, g, m, min)
			checkLinked(t, g, m, min)
		})
		if !ok {
			t.Fatalf("table %d: %v (row totals %v, column totals %v, min %d)", n, g.Counts, g.RowTotals, g.ColTotals, min)
		}
	}
}
