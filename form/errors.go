package form

import (
	"errors"
	"strconv"
	"strings"
)

// ErrNotFound is returned (wrapped) for a built-in template that does not exist.
var ErrNotFound = errors.New("form: not found")

// Problem is one reason a workbook cannot be used, located by sheet and
// spreadsheet row (the header row is 1). Row is 0 for a problem that belongs
// to a whole sheet or file; Sheet is "" for one that belongs to no sheet.
type Problem struct {
	Sheet   string `json:"sheet"`
	Row     int    `json:"row"`
	Message string `json:"message"`
}

// String formats the problem as users read it: "survey!14: unknown choice list 'edu'".
func (p Problem) String() string {
	switch {
	case p.Sheet != "" && p.Row > 0:
		return p.Sheet + "!" + strconv.Itoa(p.Row) + ": " + p.Message
	case p.Sheet != "":
		return p.Sheet + ": " + p.Message
	}
	return p.Message
}

// Error is a form refused whole, with every problem found in it.
type Error struct {
	File     string
	Problems []Problem
}

// Error lists one problem a line, each prefixed by the file name when known.
func (e *Error) Error() string {
	if len(e.Problems) == 0 {
		if e.File != "" {
			return e.File + ": form: unusable workbook"
		}
		return "form: unusable workbook"
	}
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		if e.File != "" {
			b.WriteString(e.File)
			b.WriteString(": ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}
