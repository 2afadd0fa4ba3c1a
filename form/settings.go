package form

import (
	"sort"
	"strings"
)

// Settings columns are read by many packages (collect's schedule,
// invitations and quotas, clean's rules, stats' nets, security's retention,
// publish's publisher). Each reads its own columns through Setting, so that
// headers match as everywhere else in XLSForm (case and spaces do not
// matter), and refuses a bad value with a SettingError, so that whoever
// checks a form can name the cell as sheet!row.

// Setting returns the settings column called name, matched as XLSForm
// headers are ("Retention Days" is retention_days), and its value trimmed.
// header is the column as written, "" when the form has no such column
// or leaves it empty. When several headers match, the first in sorted
// order wins, so the answer does not depend on map order.
func (f *Form) Setting(name string) (header, value string) {
	want := snake(name)
	var hs []string
	for h, v := range f.Settings {
		if snake(h) == want && strings.TrimSpace(v) != "" {
			hs = append(hs, h)
		}
	}
	if len(hs) == 0 {
		return "", ""
	}
	sort.Strings(hs)
	return hs[0], strings.TrimSpace(f.Settings[hs[0]])
}

// SettingsLocation is where the settings row is: the sheet as written and
// its spreadsheet row. A form read back with FromDefinition no longer
// knows, and answers the row every XLSForm uses, settings!2.
func (f *Form) SettingsLocation() (sheet string, row int) {
	if f.settingsSheet == "" || f.settingsRow == 0 {
		return "settings", 2
	}
	return f.settingsSheet, f.settingsRow
}

// SettingError is a settings column whose value a package cannot use,
// located so that it reads as every other problem of a form:
// "settings!2: column close_at: …".
type SettingError struct {
	Sheet  string
	Row    int
	Column string // the header as written
	Err    error  // what is wrong with the value, naming the value
}

// NewSettingError locates err in f's settings row under column.
func (f *Form) NewSettingError(column string, err error) *SettingError {
	sheet, row := f.SettingsLocation()
	return &SettingError{Sheet: sheet, Row: row, Column: column, Err: err}
}

// Problem is the error as one problem of the form.
func (e *SettingError) Problem() Problem {
	return Problem{Sheet: e.Sheet, Row: e.Row, Message: "column " + e.Column + ": " + e.Err.Error()}
}

func (e *SettingError) Error() string { return e.Problem().String() }

func (e *SettingError) Unwrap() error { return e.Err }
