package publish

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/stats"
)

// Microdata releases: de-identified rows whose quasi-identifiers (answers
// that, combined, could single a respondent out: age, province, job…)
// are coarsened along generalisation hierarchies until every combination
// is shared by at least k respondents; the respondents still in smaller
// groups are dropped. The report says what was coarsened and dropped,
// never which combinations were small.

// DefaultK is the default k of k-anonymity.
const DefaultK = 10

// DefaultMaxDrop is the share of rows coarsening may leave to be dropped:
// once no more than this remain in small groups, they are dropped rather
// than coarsening every row further.
const DefaultMaxDrop = 0.05

// Hierarchy generalises one quasi-identifier: Levels[l] maps an original
// value to its value at level l+1 (a value it lacks becomes "*"); the
// last level is usually everything "*". Level 0 is the value itself.
type Hierarchy struct {
	Field  string
	Levels []map[string]string
	// Describe names each level, for the report ("age bands in pairs").
	Describe []string
}

func (h Hierarchy) at(level int, v string) string {
	if level == 0 {
		return v
	}
	if g, ok := h.Levels[level-1][v]; ok {
		return g
	}
	return "*"
}

// KOptions are the parameters of k-anonymisation.
type KOptions struct {
	K       int     // default DefaultK
	MaxDrop float64 // default DefaultMaxDrop; 0 < MaxDrop < 1
}

// Coarsening says how far one quasi-identifier was generalised.
type Coarsening struct {
	Field       string `json:"field"`
	Level       int    `json:"level"`  // 0: as collected
	Levels      int    `json:"levels"` // levels it has
	Description string `json:"description"`
}

// KReport is the k-anonymity report of a microdata release.
type KReport struct {
	K                int          `json:"k"`
	MaxDrop          float64      `json:"max_drop"`
	QuasiIdentifiers []string     `json:"quasi_identifiers"`
	Columns          []string     `json:"columns"`
	Rows             int          `json:"rows"`    // before
	Kept             int          `json:"kept"`    // published
	Dropped          int          `json:"dropped"` // in groups smaller than k after coarsening
	DroppedGroups    int          `json:"dropped_groups"`
	Classes          int          `json:"classes"` // combinations published
	SmallestClass    int          `json:"smallest_class"`
	Coarsened        []Coarsening `json:"coarsened"`
}

// KAnonymize coarsens the quasi-identifier columns of rows (columns named
// by header) and drops what stays in groups smaller than k. Each step
// raises by one level the quasi-identifier that leaves the fewest rows in
// small groups (ties: the one named first); it stops when no step lowers
// that number or at most MaxDrop of the rows remain in small groups. The
// rows come back sorted, so their order tells nothing.
func KAnonymize(header []string, rows [][]string, hs []Hierarchy, opts KOptions) ([][]string, KReport, error) {
	if opts.K == 0 {
		opts.K = DefaultK
	}
	if opts.MaxDrop == 0 {
		opts.MaxDrop = DefaultMaxDrop
	}
	if opts.K < 2 || opts.MaxDrop < 0 || opts.MaxDrop >= 1 {
		return nil, KReport{}, fmt.Errorf("publish: k %d, max drop %v: want k ≥ 2 and 0 ≤ max drop < 1", opts.K, opts.MaxDrop)
	}
	if len(hs) == 0 {
		return nil, KReport{}, errors.New("publish: microdata needs at least one quasi-identifier")
	}
	col := make([]int, len(hs))
	for q, h := range hs {
		col[q] = slices.Index(header, h.Field)
		if col[q] < 0 {
			return nil, KReport{}, fmt.Errorf("publish: quasi-identifier %s is not a column", h.Field)
		}
	}
	level := make([]int, len(hs))
	key := func(row []string, lv []int) string {
		var b strings.Builder
		for q, h := range hs {
			b.WriteString(h.at(lv[q], row[col[q]]))
			b.WriteByte(0)
		}
		return b.String()
	}
	classes := func(lv []int) map[string]int {
		n := map[string]int{}
		for _, r := range rows {
			n[key(r, lv)]++
		}
		return n
	}
	small := func(lv []int) int {
		s := 0
		for _, n := range classes(lv) {
			if n < opts.K {
				s += n
			}
		}
		return s
	}
	allowed := int(opts.MaxDrop * float64(len(rows)))
	cur := small(level)
	for cur > allowed {
		best, bestSmall := -1, cur
		for q, h := range hs {
			if level[q] == len(h.Levels) {
				continue
			}
			level[q]++
			if s := small(level); s < bestSmall {
				best, bestSmall = q, s
			}
			level[q]--
		}
		if best < 0 {
			break
		}
		level[best]++
		cur = bestSmall
	}
	counts := classes(level)
	rep := KReport{K: opts.K, MaxDrop: opts.MaxDrop, Rows: len(rows), Columns: header, SmallestClass: 0}
	for _, n := range counts {
		if n < opts.K {
			rep.Dropped += n
			rep.DroppedGroups++
			continue
		}
		rep.Classes++
		if rep.SmallestClass == 0 || n < rep.SmallestClass {
			rep.SmallestClass = n
		}
	}
	var out [][]string
	for _, r := range rows {
		if counts[key(r, level)] < opts.K {
			continue
		}
		row := slices.Clone(r)
		for q, h := range hs {
			row[col[q]] = h.at(level[q], r[col[q]])
		}
		out = append(out, row)
	}
	slices.SortFunc(out, func(a, b []string) int { return slices.Compare(a, b) })
	rep.Kept = len(out)
	for q, h := range hs {
		rep.QuasiIdentifiers = append(rep.QuasiIdentifiers, h.Field)
		d := "as collected"
		if level[q] > 0 && level[q]-1 < len(h.Describe) {
			d = h.Describe[level[q]-1]
		}
		rep.Coarsened = append(rep.Coarsened, Coarsening{Field: h.Field, Level: level[q], Levels: len(h.Levels), Description: d})
	}
	return out, rep, nil
}

// Microdata is a microdata file of a release and its report.
type Microdata struct {
	CSV    []byte
	Report KReport
}

// MicrodataFromDataset makes the microdata release of ds: the columns
// named (quasi-identifiers included) of every response, one row each, no
// respondent key, quasi-identifiers coarsened. Personal and sensitive
// questions are refused; so are quasi-identifiers that are not single
// choice.
func MicrodataFromDataset(ds *stats.Dataset, qi, columns []string, opts KOptions) (*Microdata, error) {
	header := slices.Clone(columns)
	for _, q := range qi {
		if !slices.Contains(header, q) {
			header = append(header, q)
		}
	}
	cols := make([]*stats.Column, len(header))
	for k, name := range header {
		c := ds.Column(name)
		if c == nil {
			return nil, fmt.Errorf("publish: microdata: no column %s", name)
		}
		if cl := c.Question.Classification; cl == "personal" || cl == "sensitive" {
			return nil, fmt.Errorf("publish: microdata: %s is classified %s and is never published", name, cl)
		}
		cols[k] = c
	}
	rows := make([][]string, ds.Rows)
	for i := range rows {
		row := make([]string, len(cols))
		for k, c := range cols {
			row[k] = columnValue(c, i)
		}
		rows[i] = row
	}
	var hs []Hierarchy
	for _, name := range qi {
		c := ds.Column(name)
		if c.Kind != stats.SingleChoice {
			return nil, fmt.Errorf("publish: microdata: quasi-identifier %s is not a single-choice question", name)
		}
		hs = append(hs, HierarchyFor(name, c.Choices))
	}
	out, rep, err := KAnonymize(header, rows, hs, opts)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.WriteString(bom)
	w := csv.NewWriter(&buf)
	w.Write(header)
	w.WriteAll(out)
	if err := w.Error(); err != nil {
		return nil, err
	}
	return &Microdata{CSV: buf.Bytes(), Report: rep}, nil
}

func columnValue(c *stats.Column, i int) string {
	switch c.Kind {
	case stats.SingleChoice:
		if l := c.Level(i); l >= 0 {
			return c.Choices[l].Name
		}
	case stats.MultipleChoice:
		var names []string
		for j, ch := range c.Choices {
			if c.Chose(i, j) {
				names = append(names, ch.Name)
			}
		}
		return strings.Join(names, " ")
	case stats.Numeric:
		if v := c.Values[i]; v == v {
			return strconv.FormatFloat(v, 'g', -1, 64)
		}
	}
	return ""
}

// regions groups the provinces of the instruments' province list into
// China's seven geographic regions.
var regions = map[string]string{
	"beijing": "north", "tianjin": "north", "hebei": "north", "shanxi": "north", "neimenggu": "north",
	"liaoning": "northeast", "jilin": "northeast", "heilongjiang": "northeast",
	"shanghai": "east", "jiangsu": "east", "zhejiang": "east", "anhui": "east", "fujian": "east",
	"jiangxi": "east", "shandong": "east", "taiwan": "east",
	"henan": "central", "hubei": "central", "hunan": "central",
	"guangdong": "south", "guangxi": "south", "hainan": "south", "hongkong": "south", "macau": "south",
	"chongqing": "southwest", "sichuan": "southwest", "guizhou": "southwest", "yunnan": "southwest", "xizang": "southwest",
	"shaanxi": "northwest", "gansu": "northwest", "qinghai": "northwest", "ningxia": "northwest", "xinjiang": "northwest",
}

// HierarchyFor is the default generalisation of a single-choice field:
// a choice list of provinces goes to regions, then "*"; a list whose
// choices carry a qi_group column goes to those groups, then "*"; any
// other ordered list (age bands, years online) merges neighbours in
// pairs, then fours, …, then "*".
func HierarchyFor(field string, choices []form.Choice) Hierarchy {
	h := Hierarchy{Field: field}
	top := map[string]string{}
	grouped := map[string]string{}
	isProvinces := len(choices) > 0
	hasGroups := len(choices) > 0
	for _, c := range choices {
		top[c.Name] = "*"
		if _, ok := regions[c.Name]; !ok {
			isProvinces = false
		}
		if g := c.Extra["qi_group"]; g != "" {
			grouped[c.Name] = g
		} else {
			hasGroups = false
		}
	}
	switch {
	case isProvinces:
		lv := map[string]string{}
		for _, c := range choices {
			lv[c.Name] = regions[c.Name]
		}
		h.Levels = append(h.Levels, lv)
		h.Describe = append(h.Describe, "provinces grouped into regions")
	case hasGroups:
		h.Levels = append(h.Levels, grouped)
		h.Describe = append(h.Describe, "choices grouped by the form's qi_group column")
	default:
		for width := 2; width < len(choices); width *= 2 {
			lv := map[string]string{}
			for start := 0; start < len(choices); start += width {
				end := min(start+width, len(choices))
				name := choices[start].Name
				if end-start > 1 {
					name += "–" + choices[end-1].Name
				}
				for _, c := range choices[start:end] {
					lv[c.Name] = name
				}
			}
			h.Levels = append(h.Levels, lv)
			h.Describe = append(h.Describe, fmt.Sprintf("neighbouring choices merged in %ds", width))
		}
	}
	h.Levels = append(h.Levels, top)
	h.Describe = append(h.Describe, "suppressed (*)")
	return h
}
