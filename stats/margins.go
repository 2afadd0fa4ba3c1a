package stats

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// MarginSpec is one field's population margin as read from a CONTRACTS.md
// §5 file: per choice either a share (summing to 1 over the field) or a
// population count.
type MarginSpec struct {
	Field   string
	Choices []string
	Values  []float64
	Shares  bool // Values are shares; false: population counts
}

// ReadMargins reads a §5 margins file: CSV with a header field,choice,share
// or field,choice,population. Fields keep their order of first appearance.
// The shares of each field must sum to 1 (within 1e-6).
func ReadMargins(r io.Reader) ([]MarginSpec, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 3
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("stats: margins: empty file")
		}
		return nil, fmt.Errorf("stats: margins: %w", err)
	}
	for i := range header {
		header[i] = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff")))
	}
	if header[0] != "field" || header[1] != "choice" || (header[2] != "share" && header[2] != "population") {
		return nil, fmt.Errorf("stats: margins: header must be field,choice,share or field,choice,population, not %s", strings.Join(header, ","))
	}
	shares := header[2] == "share"
	var out []MarginSpec
	index := map[string]int{}
	seen := map[string]bool{}
	line := 1
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line++
		if err != nil {
			return nil, fmt.Errorf("stats: margins: %w", err)
		}
		field, choice := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if field == "" || choice == "" {
			return nil, fmt.Errorf("stats: margins line %d: field and choice are required", line)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[2]), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return nil, fmt.Errorf("stats: margins line %d: %q is not a non-negative number", line, rec[2])
		}
		if seen[field+"\x00"+choice] {
			return nil, fmt.Errorf("stats: margins line %d: %s = %s given twice", line, field, choice)
		}
		seen[field+"\x00"+choice] = true
		j, ok := index[field]
		if !ok {
			j = len(out)
			index[field] = j
			out = append(out, MarginSpec{Field: field, Shares: shares})
		}
		out[j].Choices = append(out[j].Choices, choice)
		out[j].Values = append(out[j].Values, v)
	}
	if len(out) == 0 {
		return nil, errors.New("stats: margins: no rows")
	}
	if shares {
		for _, m := range out {
			var s float64
			for _, v := range m.Values {
				s += v
			}
			if math.Abs(s-1) > 1e-6 {
				return nil, fmt.Errorf("stats: margins: the shares of %s sum to %v, not 1", m.Field, s)
			}
		}
	}
	return out, nil
}

// margin turns a spec into a Margin over the dataset's rows. Shares are
// scaled to total, the sum of the design weights, so that weighted counts
// stay on the sample's scale.
func (ds *Dataset) margin(spec MarginSpec, total float64) (Margin, error) {
	col := ds.Column(spec.Field)
	if col == nil {
		return Margin{}, fmt.Errorf("stats: margin %s: no such single-choice question in form %s", spec.Field, ds.Form.ID)
	}
	if col.Kind != SingleChoice {
		return Margin{}, fmt.Errorf("stats: margin %s: weighting needs a single-choice question, %s is %s", spec.Field, spec.Field, col.Question.Type)
	}
	m := Margin{Field: spec.Field, Levels: make([]string, len(col.Choices)), Totals: make([]float64, len(col.Choices))}
	index := map[string]int{}
	for j, ch := range col.Choices {
		m.Levels[j] = ch.Name
		index[ch.Name] = j
	}
	for k, name := range spec.Choices {
		j, ok := index[name]
		if !ok {
			return Margin{}, fmt.Errorf("stats: margin %s: %q is not a choice of the question", spec.Field, name)
		}
		v := spec.Values[k]
		if spec.Shares {
			v *= total
		}
		m.Totals[j] = v
	}
	m.Codes = make([]int32, ds.Rows)
	missing := 0
	for i := range m.Codes {
		m.Codes[i] = col.Level(i)
		if m.Codes[i] < 0 {
			missing++
		}
	}
	if missing > 0 {
		return Margin{}, fmt.Errorf("stats: margin %s: %d responses have no answer; weighting needs every response's", spec.Field, missing)
	}
	return m, nil
}
