package security

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
)

// Retention of personal data (PIPL art. 19: no longer than needed). A form
// says how long in its settings sheet, column retention_days; once a
// response is that many days old, its sealed part and its client key are
// erased, and the erasure is audited. The de-identified answers stay, so
// the survey's results do not change. The server runs this hourly;
// 'govsurvey retention run' runs it on demand.

// RetentionSetting is the settings-sheet column holding the days.
const RetentionSetting = "retention_days"

// RetentionDays reads a form's retention: 0 when it sets none (keep).
func RetentionDays(f *form.Form) (int, error) {
	col, v := f.Setting(RetentionSetting)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("security: form %s: %w", f.ID, f.NewSettingError(col, fmt.Errorf("%q is not a whole number of days (1 or more)", v)))
	}
	return n, nil
}

// RetentionResult is what one form's retention did.
type RetentionResult struct {
	FormID string
	Days   int
	Before time.Time // responses submitted before this lost their personal data
	Erased int
}

// ApplyRetention erases the personal data of every form's responses older
// than the form's retention_days (the latest revision's setting; forms
// without one use defaultDays, 0 meaning keep), and audits each erasure as
// actor. Forms are handled one by one: an error names the form and stops.
func ApplyRetention(ctx context.Context, st store.Store, log *AuditLog, actor string, defaultDays int, now time.Time) ([]RetentionResult, error) {
	fvs, err := st.Forms(ctx)
	if err != nil {
		return nil, err
	}
	var out []RetentionResult
	for _, fv := range fvs {
		f, err := form.FromDefinition(fv.Definition)
		if err != nil {
			return out, fmt.Errorf("security: retention of form %s: %w", fv.FormID, err)
		}
		days, err := RetentionDays(f)
		if err != nil {
			return out, err
		}
		if days == 0 {
			days = defaultDays
		}
		if days == 0 {
			continue
		}
		before := now.Add(-time.Duration(days) * 24 * time.Hour)
		n, err := st.EraseSealed(ctx, fv.FormID, before)
		if err != nil {
			log.Record(ctx, AuditEvent{Actor: actor, Action: ActionRetentionErase, Object: "form:" + fv.FormID, Outcome: OutcomeFailed})
			return out, err
		}
		res := RetentionResult{FormID: fv.FormID, Days: days, Before: before, Erased: n}
		out = append(out, res)
		if n == 0 {
			continue // nothing happened: no entry every hour
		}
		if _, err := log.Record(ctx, AuditEvent{Actor: actor, Action: ActionRetentionErase, Object: "form:" + fv.FormID,
			Outcome: OutcomeOK, Detail: fmt.Sprintf("days=%d before=%s responses=%d", days, before.UTC().Format(time.RFC3339), n)}); err != nil {
			return out, err
		}
	}
	return out, nil
}
