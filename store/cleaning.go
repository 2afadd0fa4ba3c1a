package store

import (
	"fmt"
	"strings"
	"time"
)

// Cleaning is one run of the cleaning rules over a form. Package clean
// decides what the rules are; the store keeps their outcome.
type Cleaning struct {
	FormID      string
	RuleVersion string    // the rules that produced the flags, e.g. "clean/1"
	Settings    []byte    // the settings the run applied, JSON, kept for the record
	Collected   int       // responses the run looked at
	CleanedAt   time.Time // set by the store
}

// Flag is the outcome of a cleaning run for one response that broke at
// least one rule.
type Flag struct {
	FormID      string
	InstanceID  string
	Reasons     []string // reason codes, in the order the rules gave them; none contains a space
	RuleVersion string
	CleanedAt   time.Time
}

// FlagFilter selects flags to stream. With Reason set, only flags carrying
// that reason; After and Limit page through them by InstanceID.
type FlagFilter struct {
	FormID string
	Reason string // "": every flag
	After  string // only instance ids above this one ("": from the first)
	Limit  int    // at most this many (0: no limit)
}

// Override is an analyst's verdict on one response, which wins over the
// flags of every cleaning run, past and future.
type Override struct {
	ID         int64 // assigned by the store, increasing
	FormID     string
	InstanceID string
	Valid      bool   // true: count the response as valid whatever its flags
	Note       string // why; required
	Actor      string // who; required
	CreatedAt  time.Time
}

const (
	upsertCleaning = `INSERT INTO cleanings (form_id, rule_version, settings, collected, cleaned_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (form_id) DO UPDATE SET rule_version = excluded.rule_version,
			settings = excluded.settings, collected = excluded.collected, cleaned_at = excluded.cleaned_at`

	queryCleaning = `SELECT form_id, rule_version, settings, collected, cleaned_at FROM cleanings WHERE form_id = ?`

	deleteFlags = `DELETE FROM flags WHERE form_id = ?`

	deleteFlagReasons = `DELETE FROM flag_reasons WHERE form_id = ?`

	// deleteWithdrawnFlags drops, at the end of ReplaceFlags, the flags of
	// responses withdrawn while the run was reading: a withdrawn response
	// keeps no flags (WithdrawResponse drops those already stored).
	deleteWithdrawnFlags = `DELETE FROM flags WHERE form_id = ? AND instance_id IN
		(SELECT instance_id FROM responses WHERE form_id = ? AND withdrawn_at IS NOT NULL)`

	deleteWithdrawnFlagReasons = `DELETE FROM flag_reasons WHERE form_id = ? AND instance_id IN
		(SELECT instance_id FROM responses WHERE form_id = ? AND withdrawn_at IS NOT NULL)`

	insertFlag = `INSERT INTO flags (form_id, instance_id, reasons, rule_version, cleaned_at) VALUES (?, ?, ?, ?, ?)`

	insertFlagReason = `INSERT INTO flag_reasons (form_id, reason, instance_id) VALUES (?, ?, ?)`

	flagColumns = `f.form_id, f.instance_id, f.reasons, f.rule_version, f.cleaned_at`

	queryResponseExists = `SELECT count(*) FROM responses WHERE form_id = ? AND instance_id = ?`

	overrideColumns = `id, form_id, instance_id, valid, note, actor, created_at`

	insertOverride = `INSERT INTO overrides (form_id, instance_id, valid, note, actor, created_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`

	queryOverrides = `SELECT ` + overrideColumns + ` FROM overrides WHERE form_id = ? ORDER BY id`
)

// flagQuery is the SELECT for f, with ? placeholders, and its arguments.
// Paging by reason reads flag_reasons' primary key in order.
func flagQuery(f FlagFilter) (string, []any) {
	var q string
	args := []any{f.FormID}
	if f.Reason != "" {
		q = `SELECT ` + flagColumns + ` FROM flag_reasons r
			JOIN flags f ON f.form_id = r.form_id AND f.instance_id = r.instance_id
			WHERE r.form_id = ? AND r.reason = ? AND r.instance_id > ? ORDER BY r.instance_id`
		args = append(args, f.Reason, f.After)
	} else {
		q = `SELECT ` + flagColumns + ` FROM flags f WHERE f.form_id = ? AND f.instance_id > ? ORDER BY f.instance_id`
		args = append(args, f.After)
	}
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return q, args
}

func scanFlag(row scanner) (Flag, error) {
	var fl Flag
	var reasons string
	var cleaned int64
	err := row.Scan(&fl.FormID, &fl.InstanceID, &reasons, &fl.RuleVersion, &cleaned)
	fl.Reasons = strings.Fields(reasons)
	fl.CleanedAt = fromMicros(cleaned)
	return fl, err
}

func scanCleaning(row scanner) (Cleaning, error) {
	var c Cleaning
	var cleaned int64
	err := row.Scan(&c.FormID, &c.RuleVersion, &c.Settings, &c.Collected, &cleaned)
	c.CleanedAt = fromMicros(cleaned)
	return c, err
}

func scanOverride(row scanner) (Override, error) {
	var o Override
	var created int64
	err := row.Scan(&o.ID, &o.FormID, &o.InstanceID, &o.Valid, &o.Note, &o.Actor, &created)
	o.CreatedAt = fromMicros(created)
	return o, err
}

func checkCleaning(c Cleaning, flags []Flag) error {
	if c.FormID == "" {
		return fmt.Errorf("store: cleaning has no form id")
	}
	if c.RuleVersion == "" {
		return fmt.Errorf("store: cleaning of %s has no rule version", c.FormID)
	}
	if c.Collected < 0 {
		return fmt.Errorf("store: cleaning of %s: %d responses collected", c.FormID, c.Collected)
	}
	for _, f := range []struct{ what, s string }{{"form id", c.FormID}, {"rule version", c.RuleVersion}} {
		if err := checkText(f.what, f.s); err != nil {
			return fmt.Errorf("store: cleaning of %q: %w", c.FormID, err)
		}
	}
	seen := make(map[string]bool, len(flags))
	for _, fl := range flags {
		if fl.FormID != c.FormID {
			return fmt.Errorf("store: flag of response %q is for form %q, the cleaning is of %q", fl.InstanceID, fl.FormID, c.FormID)
		}
		if fl.InstanceID == "" {
			return fmt.Errorf("store: flag without an instance id in form %s", c.FormID)
		}
		if err := checkText("instance id", fl.InstanceID); err != nil {
			return fmt.Errorf("store: flag of response %q: %w", fl.InstanceID, err)
		}
		if seen[fl.InstanceID] {
			return fmt.Errorf("store: response %q of form %s is flagged twice", fl.InstanceID, c.FormID)
		}
		seen[fl.InstanceID] = true
		if len(fl.Reasons) == 0 {
			return fmt.Errorf("store: flag of response %q has no reason", fl.InstanceID)
		}
		for i, r := range fl.Reasons {
			if r == "" || strings.ContainsAny(r, " \t\r\n") {
				return fmt.Errorf("store: flag of response %q: reason %q is empty or holds white space", fl.InstanceID, r)
			}
			if err := checkText("reason", r); err != nil {
				return fmt.Errorf("store: flag of response %q: %w", fl.InstanceID, err)
			}
			for _, earlier := range fl.Reasons[:i] {
				if earlier == r {
					return fmt.Errorf("store: flag of response %q: reason %q given twice", fl.InstanceID, r)
				}
			}
		}
	}
	return nil
}

func checkOverride(o Override) error {
	if o.FormID == "" || o.InstanceID == "" {
		return fmt.Errorf("store: override of response %q of form %q: form id and instance id are required", o.InstanceID, o.FormID)
	}
	if strings.TrimSpace(o.Note) == "" || strings.TrimSpace(o.Actor) == "" {
		return fmt.Errorf("store: override of response %s of form %s: a note and an actor are required", o.InstanceID, o.FormID)
	}
	for _, f := range []struct{ what, s string }{
		{"form id", o.FormID}, {"instance id", o.InstanceID}, {"note", o.Note}, {"actor", o.Actor},
	} {
		if err := checkText(f.what, f.s); err != nil {
			return fmt.Errorf("store: override of response %q of form %q: %w", o.InstanceID, o.FormID, err)
		}
	}
	return nil
}

func cleaningError(formID string, err error) error {
	if isNoRows(err) {
		return fmt.Errorf("store: cleaning of form %s: %w", formID, ErrNotFound)
	}
	return fmt.Errorf("store: cleaning of form %s: %w", formID, err)
}
