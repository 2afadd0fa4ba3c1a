package collect

import (
	"errors"
	"fmt"
	"time"

	"github.com/govsurvey/govsurvey/form"
)

// Schedule is when a form takes submissions, from its XLSForm settings
// sheet: columns open_at and close_at, each RFC 3339 or "2006-01-02
// 15:04" (in the collector's location), or a bare date; a bare close_at
// date closes at the end of that day. Either may be absent.
type Schedule struct {
	Opens  time.Time // zero: open from the start
	Closes time.Time // zero: never closes
}

// ClosedError refuses a submission outside the form's schedule (HTTP 403).
type ClosedError struct {
	FormID string
	NotYet bool      // true: before Opens; false: after Closes (or the schedule is broken)
	Opens  time.Time // when NotYet
	Closes time.Time
}

func (e *ClosedError) Error() string {
	if e.NotYet {
		return fmt.Sprintf("collect: form %s opens at %s", e.FormID, e.Opens.Format(time.RFC3339))
	}
	return fmt.Sprintf("collect: form %s is closed", e.FormID)
}

// ScheduleOf reads f's schedule. A bad value is a *form.SettingError
// (wrapped) naming its column.
func ScheduleOf(f *form.Form, loc *time.Location) (Schedule, error) {
	var s Schedule
	openCol, _ := f.Setting("open_at")
	closeCol, _ := f.Setting("close_at")
	for _, k := range []string{"open_at", "close_at"} {
		col, v := f.Setting(k)
		if col == "" {
			continue
		}
		t, dateOnly, err := scheduleTime(v, loc)
		if err != nil {
			return Schedule{}, fmt.Errorf("collect: form %s: %w", f.ID, f.NewSettingError(col, fmt.Errorf("%q is %w", v, err)))
		}
		if k == "open_at" {
			s.Opens = t
		} else {
			if dateOnly {
				t = t.AddDate(0, 0, 1)
			}
			s.Closes = t
		}
	}
	if !s.Opens.IsZero() && !s.Closes.IsZero() && !s.Opens.Before(s.Closes) {
		return Schedule{}, fmt.Errorf("collect: form %s: %w", f.ID, f.NewSettingError(closeCol, fmt.Errorf("is not after %s", openCol)))
	}
	return s, nil
}

func scheduleTime(v string, loc *time.Location) (t time.Time, dateOnly bool, err error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, false, nil
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, false, nil
		}
	}
	if t, err := time.ParseInLocation("2006-01-02", v, loc); err == nil {
		return t, true, nil
	}
	return time.Time{}, false, errors.New("not a time (write 2019-07-01 08:00 or RFC 3339)")
}

// Check returns a *ClosedError when now is outside the schedule.
func (s Schedule) Check(formID string, now time.Time) error {
	switch {
	case !s.Opens.IsZero() && now.Before(s.Opens):
		return &ClosedError{FormID: formID, NotYet: true, Opens: s.Opens, Closes: s.Closes}
	case !s.Closes.IsZero() && !now.Before(s.Closes):
		return &ClosedError{FormID: formID, Closes: s.Closes}
	}
	return nil
}
