package stats

// cellTable groups rows by their combination of levels of some categorical
// variables. Weighting to categorical margins multiplies every row's weight
// by a factor that depends only on its cell, so raking and calibration can
// iterate over cells instead of rows, and the variance of a table needs
// only per-cell sums.
type cellTable struct {
	cellOf []int32   // per row; -1 for a row left out
	levels [][]int32 // per variable, per cell: the cell's level
	n      int       // number of cells
}

// maxDenseKey bounds the mixed-radix key space indexed by an array; beyond
// it cells are found through a map.
const maxDenseKey = 1 << 22

// newCellTable returns the cells of vars (level codes per row, nLevels
// levels each). Rows for which skip is true, or with a negative code, are
// left out (cell -1). Cells are numbered in order of first appearance.
func newCellTable(rows int, vars [][]int32, nLevels []int, skip func(i int) bool) cellTable {
	ct := cellTable{cellOf: make([]int32, rows), levels: make([][]int32, len(vars))}
	product := uint64(1)
	dense := true
	for _, k := range nLevels {
		product *= uint64(max(k, 1))
		if product > maxDenseKey {
			dense = false
		}
	}
	var ids []int32
	var idMap map[uint64]int32
	if dense {
		ids = make([]int32, product)
		for i := range ids {
			ids[i] = -1
		}
	} else {
		idMap = make(map[uint64]int32)
	}
	for i := range rows {
		if skip != nil && skip(i) {
			ct.cellOf[i] = -1
			continue
		}
		var key uint64
		ok := true
		for v, codes := range vars {
			c := codes[i]
			if c < 0 || int(c) >= nLevels[v] {
				ok = false
				break
			}
			key = key*uint64(nLevels[v]) + uint64(c)
		}
		if !ok {
			ct.cellOf[i] = -1
			continue
		}
		var id int32
		if dense {
			id = ids[key]
		} else if x, found := idMap[key]; found {
			id = x
		} else {
			id = -1
		}
		if id < 0 {
			id = int32(ct.n)
			ct.n++
			if dense {
				ids[key] = id
			} else {
				idMap[key] = id
			}
			for v, codes := range vars {
				ct.levels[v] = append(ct.levels[v], codes[i])
			}
		}
		ct.cellOf[i] = id
	}
	return ct
}

// sums returns Σ w per cell.
func (ct cellTable) sums(w []float64) []float64 {
	s := make([]float64, ct.n)
	for i, c := range ct.cellOf {
		if c >= 0 {
			s[c] += w[i]
		}
	}
	return s
}
