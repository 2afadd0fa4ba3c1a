package clean

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/govsurvey/govsurvey/form"
)

// Settings are the parameters of the rules. DefaultSettings gives the
// CONTRACTS.md §3 defaults; SettingsFor reads a form's overrides from its
// XLSForm settings sheet. Each field's settings-sheet column is in its
// comment (docs/cleaning.md lists them too).
type Settings struct {
	Duplicate     bool    // duplicate_rule (on)
	Speeding      bool    // speeding_rule (on)
	SpeedingRatio float64 // speeding_ratio (0.3): a speeder took less than this share of the median duration
	Incomplete    bool    // incomplete_rule (on)
	InvalidValue  bool    // invalid_value_rule (on)
	Consistency   bool    // consistency_rule (on): every row of the checks sheet
	Honeypot      bool    // honeypot_rule (on)

	// Further indices, off by default.
	Straightlining     bool          // straightlining_rule (off)
	StraightliningRun  int           // straightlining_run (0): identical consecutive answers in a battery that flag; 0 means the whole battery
	Attention          bool          // attention_rule (off)
	NearDuplicate      bool          // near_duplicate_rule (off)
	NearDuplicateShare float64       // near_duplicate_share (0.95): share of identical answers that makes two responses near-duplicates
	Burst              bool          // burst_rule (off)
	BurstWindow        time.Duration // burst_window (10m): the sliding window of submission times
	BurstMax           int           // burst_max (5): submissions one client may make within a window
}

// DefaultSettings returns the defaults of CONTRACTS.md §3; the further
// indices are off.
func DefaultSettings() Settings {
	return Settings{
		Duplicate:          true,
		Speeding:           true,
		SpeedingRatio:      0.3,
		Incomplete:         true,
		InvalidValue:       true,
		Consistency:        true,
		Honeypot:           true,
		NearDuplicateShare: 0.95,
		BurstWindow:        10 * time.Minute,
		BurstMax:           5,
	}
}

// setting is one column of the settings sheet: its name, how to read it
// into Settings and how to write it back for the record of a run.
type setting struct {
	name   string
	parse  func(s *Settings, v string) error
	format func(s Settings) string
}

func onOff(name string, field func(*Settings) *bool) setting {
	return setting{name, func(s *Settings, v string) error {
		switch strings.ToLower(v) {
		case "on", "yes", "true", "1":
			*field(s) = true
		case "off", "no", "false", "0":
			*field(s) = false
		default:
			return fmt.Errorf("%q is not on or off", v)
		}
		return nil
	}, func(s Settings) string {
		if *field(&s) {
			return "on"
		}
		return "off"
	}}
}

func share(name string, field func(*Settings) *float64, what string) setting {
	return setting{name, func(s *Settings, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || f <= 0 || f > 1 {
			return fmt.Errorf("%q is not %s (a number above 0, at most 1)", v, what)
		}
		*field(s) = f
		return nil
	}, func(s Settings) string {
		return strconv.FormatFloat(*field(&s), 'g', -1, 64)
	}}
}

func count(name string, field func(*Settings) *int, least int) setting {
	return setting{name, func(s *Settings, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < least {
			return fmt.Errorf("%q is not a whole number of at least %d", v, least)
		}
		*field(s) = n
		return nil
	}, func(s Settings) string {
		return strconv.Itoa(*field(&s))
	}}
}

// settingsTable is every settings-sheet column cleaning reads.
var settingsTable = []setting{
	onOff("duplicate_rule", func(s *Settings) *bool { return &s.Duplicate }),
	onOff("speeding_rule", func(s *Settings) *bool { return &s.Speeding }),
	share("speeding_ratio", func(s *Settings) *float64 { return &s.SpeedingRatio }, "a share of the median duration"),
	onOff("incomplete_rule", func(s *Settings) *bool { return &s.Incomplete }),
	onOff("invalid_value_rule", func(s *Settings) *bool { return &s.InvalidValue }),
	onOff("consistency_rule", func(s *Settings) *bool { return &s.Consistency }),
	onOff("honeypot_rule", func(s *Settings) *bool { return &s.Honeypot }),
	onOff("straightlining_rule", func(s *Settings) *bool { return &s.Straightlining }),
	count("straightlining_run", func(s *Settings) *int { return &s.StraightliningRun }, 0),
	onOff("attention_rule", func(s *Settings) *bool { return &s.Attention }),
	onOff("near_duplicate_rule", func(s *Settings) *bool { return &s.NearDuplicate }),
	share("near_duplicate_share", func(s *Settings) *float64 { return &s.NearDuplicateShare }, "a share of identical answers"),
	onOff("burst_rule", func(s *Settings) *bool { return &s.Burst }),
	{"burst_window", parseWindow, func(s Settings) string { return s.BurstWindow.String() }},
	count("burst_max", func(s *Settings) *int { return &s.BurstMax }, 1),
}

// parseWindow reads a duration as Go writes it ("10m", "1h30m") or a plain
// number of seconds.
func parseWindow(s *Settings, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		secs, ferr := strconv.ParseFloat(v, 64)
		if ferr != nil || math.IsNaN(secs) || math.IsInf(secs, 0) {
			return fmt.Errorf("%q is not a duration (such as 10m, or a number of seconds)", v)
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d <= 0 {
		return fmt.Errorf("%q is not a positive duration", v)
	}
	s.BurstWindow = d
	return nil
}

// SettingsFor returns the defaults overridden by the columns of the form's
// settings sheet named in docs/cleaning.md. Column names are matched as
// XLSForm headers are (case and spaces do not matter); other columns are
// not cleaning's business. A bad value is an error naming its column.
func SettingsFor(f *form.Form) (Settings, error) {
	s := DefaultSettings()
	byName := make(map[string]setting, len(settingsTable))
	for _, st := range settingsTable {
		byName[st.name] = st
	}
	headers := make([]string, 0, len(f.Settings))
	for h := range f.Settings {
		headers = append(headers, h)
	}
	sort.Strings(headers)
	var problems []error
	for _, h := range headers {
		st, ok := byName[snake(h)]
		if !ok {
			continue
		}
		if err := st.parse(&s, strings.TrimSpace(f.Settings[h])); err != nil {
			problems = append(problems, fmt.Errorf("clean: form %s: %w", f.ID, f.NewSettingError(h, err)))
		}
	}
	if len(problems) > 0 {
		// Each is a *form.SettingError (wrapped), so a checker can name
		// every bad column, not only the first.
		return Settings{}, errors.Join(problems...)
	}
	return s, nil
}

// Record returns the settings as settings-sheet columns and values, the
// record a run keeps of what it applied.
func (s Settings) Record() map[string]string {
	m := make(map[string]string, len(settingsTable))
	for _, st := range settingsTable {
		m[st.name] = st.format(s)
	}
	return m
}

func (s Settings) validate() error {
	switch {
	case !(s.SpeedingRatio > 0 && s.SpeedingRatio <= 1) && s.Speeding:
		return fmt.Errorf("clean: speeding ratio %v is not above 0 and at most 1", s.SpeedingRatio)
	case !(s.NearDuplicateShare > 0 && s.NearDuplicateShare <= 1) && s.NearDuplicate:
		return fmt.Errorf("clean: near-duplicate share %v is not above 0 and at most 1", s.NearDuplicateShare)
	case s.Burst && (s.BurstWindow <= 0 || s.BurstMax < 1):
		return fmt.Errorf("clean: burst rule needs a positive window and a maximum of at least 1")
	case s.StraightliningRun < 0:
		return fmt.Errorf("clean: straight-lining run %d is negative", s.StraightliningRun)
	}
	return nil
}

// snake normalises a header as the form compiler does: words joined by
// "_", lower case.
func snake(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), "_"))
}
