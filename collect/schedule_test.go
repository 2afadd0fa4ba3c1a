package collect

import (
	"errors"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/form"
)

func TestSchedule(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name     string
		settings map[string]string
		now      string
		open     bool
		notYet   bool
		bad      bool
	}{
		{"no schedule", nil, "2019-07-01T00:00:00Z", true, false, false},
		{"before open", map[string]string{"open_at": "2019-07-01 08:00"}, "2019-06-30T23:59:59Z", false, true, false},
		{"at open (local time)", map[string]string{"open_at": "2019-07-01 08:00"}, "2019-07-01T00:00:00Z", true, false, false},
		{"RFC 3339", map[string]string{"open_at": "2019-07-01T08:00:00+08:00", "close_at": "2019-07-31T18:00:00+08:00"}, "2019-07-31T09:59:59Z", true, false, false},
		{"at close", map[string]string{"close_at": "2019-07-31T18:00:00+08:00"}, "2019-07-31T10:00:00Z", false, false, false},
		{"bare close date: open all that day", map[string]string{"close_at": "2019-07-31"}, "2019-07-31T15:59:59Z", true, false, false},
		{"bare close date: closed the next day", map[string]string{"close_at": "2019-07-31"}, "2019-07-31T16:00:00Z", false, false, false},
		{"header case and spaces", map[string]string{" Close_At ": "2019-07-31"}, "2019-08-01T00:00:00Z", false, false, false},
		{"unreadable", map[string]string{"close_at": "next week"}, "2019-07-01T00:00:00Z", false, false, true},
		{"open after close", map[string]string{"open_at": "2019-08-01", "close_at": "2019-07-01"}, "2019-07-15T00:00:00Z", false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &form.Form{ID: "f", Settings: tt.settings}
			s, err := ScheduleOf(f, cst)
			if tt.bad {
				if err == nil {
					t.Fatalf("schedule %v read without error", tt.settings)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			err = s.Check("f", at(tt.now))
			var closed *ClosedError
			switch {
			case tt.open && err != nil:
				t.Errorf("closed at %s: %v", tt.now, err)
			case !tt.open && !errors.As(err, &closed):
				t.Errorf("open at %s (err %v)", tt.now, err)
			case !tt.open && closed.NotYet != tt.notYet:
				t.Errorf("NotYet = %v", closed.NotYet)
			}
		})
	}
}
