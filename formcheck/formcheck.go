// Package formcheck checks a form the way the whole platform will read it:
// the form package checks the questionnaire, and each package that reads a
// settings column (collect's schedule, invitations and quotas, clean's
// rules, stats' nets, security's retention) parses its own. A bad value
// would otherwise surface only when that package first runs — a form that
// quietly refuses every submission, or a cleaning run that fails — so every
// path that takes a form from a user (form check, form add, the console's
// upload) goes through here and is refused with every problem named as
// settings!row. form sits at the bottom of the flow and cannot import the
// packages that parse the columns; this package sits above them all.
package formcheck

import (
	"context"
	"errors"
	"time"

	"github.com/govsurvey/govsurvey/clean"
	"github.com/govsurvey/govsurvey/collect"
	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/stats"
	"github.com/govsurvey/govsurvey/store"
)

// checkers are every settings parser of the platform. publish's publisher
// column is free text and has none. The schedule is checked in UTC: the
// collector's location shifts the times but cannot make a good one bad.
var checkers = []func(*form.Form) error{
	func(f *form.Form) error { _, err := collect.ScheduleOf(f, time.UTC); return err },
	func(f *form.Form) error { _, err := collect.InvitationRequired(f); return err },
	func(f *form.Form) error { _, err := collect.ParseQuotas(f); return err },
	func(f *form.Form) error { _, err := clean.SettingsFor(f); return err },
	func(f *form.Form) error { _, err := stats.FormNets(f); return err },
	func(f *form.Form) error { _, err := security.RetentionDays(f); return err },
}

// Settings returns every problem of f's settings columns, in the order of
// the checkers, each located at the settings row and naming its column.
func Settings(f *form.Form) []form.Problem {
	var out []form.Problem
	for _, check := range checkers {
		err := check(f)
		if err == nil {
			continue
		}
		ses := settingErrors(err)
		if len(ses) == 0 {
			// A parser that fails without naming its column still
			// belongs to the settings row.
			sheet, row := f.SettingsLocation()
			out = append(out, form.Problem{Sheet: sheet, Row: row, Message: err.Error()})
			continue
		}
		for _, se := range ses {
			out = append(out, se.Problem())
		}
	}
	return out
}

// settingErrors finds every *form.SettingError in err's tree (clean
// reports each bad column, joined).
func settingErrors(err error) []*form.SettingError {
	if se, ok := err.(*form.SettingError); ok {
		return []*form.SettingError{se}
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*form.SettingError
		for _, e := range j.Unwrap() {
			out = append(out, settingErrors(e)...)
		}
		return out
	}
	if u := errors.Unwrap(err); u != nil {
		return settingErrors(u)
	}
	return nil
}

// Check returns nil, or a *form.Error listing every settings problem of f;
// file names the file in it, as form.Parse does.
func Check(file string, f *form.Form) error {
	if ps := Settings(f); len(ps) > 0 {
		return &form.Error{File: file, Problems: ps}
	}
	return nil
}

// Parse compiles an XLSForm as form.Parse does and checks its settings.
func Parse(name string, data []byte) (*form.Form, error) {
	f, err := form.Parse(name, data)
	if err != nil {
		return nil, err
	}
	if err := Check(name, f); err != nil {
		return nil, err
	}
	return f, nil
}

// ParseFile reads a file or csv-bundle directory as form.ParseFile does
// and checks its settings.
func ParseFile(path string) (*form.Form, error) {
	f, err := form.ParseFile(path)
	if err != nil {
		return nil, err
	}
	if err := Check(path, f); err != nil {
		return nil, err
	}
	return f, nil
}

// AddForm is collect.AddForm for a form that must pass Parse: a bad
// setting is a *form.Error and nothing is stored.
func AddForm(ctx context.Context, st store.Store, name string, data []byte) (store.FormVersion, *form.Form, bool, error) {
	f, err := Parse(name, data)
	if err != nil {
		return store.FormVersion{}, nil, false, err
	}
	return collect.AddCompiled(ctx, st, name, data, f)
}
