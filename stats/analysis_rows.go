package stats

import (
	"encoding/csv"
	"io"
	"math"
	"strconv"
)

// TableHeader is the header of Analysis.TableRows.
var TableHeader = []string{"by", "group", "question", "choice", "base", "count", "unweighted_count", "percent", "se", "ci_low", "ci_high", "mean"}

// TableRows writes the tables long, one row per (cross-tab group,
// question, choice or net; a numeric question's summary is one row), as
// `analyze --format csv` and the API's CSV and XLSX downloads do. Numbers
// are unrounded; a missing one is "".
func (a *Analysis) TableRows(fn func(row []string) error) error {
	num := func(x Num) string {
		if math.IsNaN(float64(x)) {
			return ""
		}
		return strconv.FormatFloat(float64(x), 'g', -1, 64)
	}
	rows := func(by, group string, qs []QuestionTable) error {
		for _, q := range qs {
			if q.Summary != nil {
				if err := fn([]string{by, group, q.Name, "", strconv.Itoa(q.Base), "", "", "", num(q.Summary.SE), num(q.Summary.CILow), num(q.Summary.CIHigh), num(q.Summary.Mean)}); err != nil {
					return err
				}
				continue
			}
			for _, c := range append(append([]ChoiceEstimate(nil), q.Choices...), q.Nets...) {
				u := ""
				if c.UnweightedCount != nil {
					u = strconv.Itoa(*c.UnweightedCount)
				}
				if err := fn([]string{by, group, q.Name, c.Name, strconv.Itoa(q.Base), num(c.Count), u, num(c.Percent), num(c.SE), num(c.CILow), num(c.CIHigh), ""}); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := rows("", "", a.Questions); err != nil {
		return err
	}
	for _, ct := range a.Crosstabs {
		for _, g := range ct.Groups {
			if err := rows(ct.By, g.Name, g.Questions); err != nil {
				return err
			}
		}
	}
	return nil
}

// WriteCSV writes TableHeader and TableRows as CSV.
func (a *Analysis) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(TableHeader); err != nil {
		return err
	}
	if err := a.TableRows(cw.Write); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}
