package stats

import (
	"fmt"

	"github.com/govsurvey/govsurvey/form"
)

// ColumnKind is how a question's answers are held in a Dataset.
type ColumnKind uint8

const (
	// SingleChoice (select_one): one choice code per response.
	SingleChoice ColumnKind = iota + 1
	// MultipleChoice (select_multiple): a set of choices per response.
	MultipleChoice
	// Numeric (integer, decimal, range): a number per response.
	Numeric
)

func (k ColumnKind) String() string {
	switch k {
	case SingleChoice:
		return "single"
	case MultipleChoice:
		return "multiple"
	case Numeric:
		return "numeric"
	}
	return fmt.Sprintf("ColumnKind(%d)", int(k))
}

// NoChoice is the code of an answer that is no choice of the question's
// list: it is kept out of the question's base.
const NoChoice = 0xFFFF

// Column is one question's answers over the responses of a Dataset. An
// answer to a question that was not relevant (its relevant expression, or
// an enclosing group's, is false for the response) is dropped when
// loading: the base of a question is the responses for which it was
// relevant and answered.
type Column struct {
	Question *form.Question
	Kind     ColumnKind
	Choices  []form.Choice // SingleChoice, MultipleChoice
	// Codes (SingleChoice): 0 unanswered, 1..len(Choices) the choice,
	// NoChoice an answer that is no choice of the list.
	Codes []uint16
	// Sets (MultipleChoice): Words words per response, bit j of the set
	// being choice j; all zero when unanswered.
	Sets  []uint64
	Words int
	// Values (Numeric): NaN when unanswered or not a number.
	Values []float64
	// NotRelevant counts answers dropped because the question was not
	// relevant; NotChoice answers (or select_multiple tokens) that are no
	// choice of the list.
	NotRelevant int
	NotChoice   int
}

// Answered reports whether response i has an answer in the column's base.
func (c *Column) Answered(i int) bool {
	switch c.Kind {
	case SingleChoice:
		return c.Codes[i] != 0 && c.Codes[i] != NoChoice
	case MultipleChoice:
		for _, w := range c.Sets[i*c.Words : (i+1)*c.Words] {
			if w != 0 {
				return true
			}
		}
		return false
	case Numeric:
		return c.Values[i] == c.Values[i]
	}
	return false
}

// Chose reports whether response i chose choice j (0-based).
func (c *Column) Chose(i, j int) bool {
	switch c.Kind {
	case SingleChoice:
		return int(c.Codes[i]) == j+1
	case MultipleChoice:
		return c.Sets[i*c.Words+j/64]&(1<<(j%64)) != 0
	}
	return false
}

// Level returns response i's choice index (0-based) of a single-choice
// column, or -1 when it has none: the codes a Margin or a cross-tab use.
func (c *Column) Level(i int) int32 {
	code := c.Codes[i]
	if code == 0 || code == NoChoice {
		return -1
	}
	return int32(code) - 1
}

// Dataset is the valid responses of one form, column by column: the
// in-memory shape every table, weighting and test reads.
type Dataset struct {
	Form      *form.Form
	Rows      int // responses in the data set (valid ones)
	Collected int // responses streamed, valid or not
	Columns   []*Column
	byName    map[string]*Column
}

// Column returns the column of a question, or nil.
func (ds *Dataset) Column(name string) *Column { return ds.byName[name] }

// columnKind returns how a question is held, or 0 for one analysis does
// not tabulate (text, dates, media, notes, calculations…).
func columnKind(f *form.Form, q *form.Question) ColumnKind {
	switch q.Type {
	case "select_one":
		if len(f.Choices[q.ListName]) > 0 && len(f.Choices[q.ListName]) < NoChoice {
			return SingleChoice
		}
	case "select_multiple":
		if len(f.Choices[q.ListName]) > 0 {
			return MultipleChoice
		}
	case "integer", "decimal", "range":
		return Numeric
	}
	return 0
}

// Keep returns a data set of the rows where keep is true (cleaning's
// verdicts applied to data loaded whole, say). Collected is unchanged.
func (ds *Dataset) Keep(keep []bool) (*Dataset, error) {
	if len(keep) != ds.Rows {
		return nil, fmt.Errorf("stats: keep has %d rows, the data set %d", len(keep), ds.Rows)
	}
	n := 0
	for _, k := range keep {
		if k {
			n++
		}
	}
	out := &Dataset{Form: ds.Form, Rows: n, Collected: ds.Collected, byName: map[string]*Column{}}
	for _, c := range ds.Columns {
		nc := &Column{Question: c.Question, Kind: c.Kind, Choices: c.Choices, Words: c.Words,
			NotRelevant: c.NotRelevant, NotChoice: c.NotChoice}
		switch c.Kind {
		case SingleChoice:
			nc.Codes = make([]uint16, 0, n)
			for i, k := range keep {
				if k {
					nc.Codes = append(nc.Codes, c.Codes[i])
				}
			}
		case MultipleChoice:
			nc.Sets = make([]uint64, 0, n*c.Words)
			for i, k := range keep {
				if k {
					nc.Sets = append(nc.Sets, c.Sets[i*c.Words:(i+1)*c.Words]...)
				}
			}
		case Numeric:
			nc.Values = make([]float64, 0, n)
			for i, k := range keep {
				if k {
					nc.Values = append(nc.Values, c.Values[i])
				}
			}
		}
		out.Columns = append(out.Columns, nc)
		out.byName[c.Question.Name] = nc
	}
	return out, nil
}
