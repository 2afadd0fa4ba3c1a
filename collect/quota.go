package collect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
)

// Quotas per choice: the XLSForm settings column quotas lists, separated
// by ";" (or "；" or a line break), quotas written field=choice:limit:
//
//	gender=male:1000; age_band=a12_18:500
//
// Once limit accepted submissions answer field with choice (for a
// select_multiple: choose it), the form refuses further ones that do
// (HTTP 409) and takes the others. The counters are in the store, so a
// quota holds across serve nodes; a retried submission takes no second
// slot, and a withdrawal frees its slots.

// ParseQuotas reads f's quotas; none is nil. A quota must name a question
// that holds an answer and, for a select, one of its choices.
func ParseQuotas(f *form.Form) ([]store.Quota, error) {
	col, src := f.Setting("quotas")
	entries := strings.FieldsFunc(src, func(r rune) bool { return r == ';' || r == '；' || r == '\n' || r == '\r' })
	var out []store.Quota
	seen := map[[2]string]bool{}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		bad := func(why string) error {
			return fmt.Errorf("collect: form %s: %w", f.ID, f.NewSettingError(col, fmt.Errorf("%q: %s (write field=choice:limit)", e, why)))
		}
		// The limit follows the last colon; a full-width one is forgiven.
		i := strings.LastIndexAny(e, ":：")
		if i < 0 {
			return nil, bad("no limit")
		}
		fieldValue, limitText := e[:i], strings.TrimLeft(e[i:], ":：")
		field, value, ok := strings.Cut(fieldValue, "=")
		field, value = strings.TrimSpace(field), strings.TrimSpace(value)
		if !ok || field == "" || value == "" {
			return nil, bad("no field=choice")
		}
		limit, err := strconv.Atoi(strings.TrimSpace(limitText))
		if err != nil || limit < 0 {
			return nil, bad("the limit is not a whole number")
		}
		q := f.Question(field)
		if q == nil || !q.HoldsAnswer() {
			return nil, bad("no question " + field)
		}
		if q.IsSelect() {
			if _, ok := f.Choice(q.ListName, value); !ok {
				return nil, bad(value + " is not a choice of " + field)
			}
		}
		if seen[[2]string{field, value}] {
			return nil, bad("given twice")
		}
		seen[[2]string{field, value}] = true
		out = append(out, store.Quota{Field: field, Value: value, Limit: limit})
	}
	return out, nil
}

// QuotaFullError refuses a submission whose answer falls in a full quota
// (HTTP 409: the submission is well-formed and allowed, but conflicts with
// the quota's current count; it may succeed later, after a withdrawal, or
// with another answer).
type QuotaFullError struct {
	FormID string
	Field  string
	Value  string
	// Label is the question and the choice as the respondent saw them,
	// Chinese and English ("" when the form has no label).
	Label [2]string
}

func (e *QuotaFullError) Error() string {
	return fmt.Sprintf("collect: form %s: quota %s=%s is full", e.FormID, e.Field, e.Value)
}

// Message says it in both languages, naming the question and the choice.
func (e *QuotaFullError) Message() string {
	return e.MessageIn("zh") + " " + e.MessageIn("en")
}

// MessageIn says it in lang alone ("zh" or "en").
func (e *QuotaFullError) MessageIn(lang string) string {
	if lang == "en" {
		return fmt.Sprintf("This quota is full: %s.", e.label(1))
	}
	return fmt.Sprintf("此选项名额已满：%s。", e.label(0))
}

func (e *QuotaFullError) label(i int) string {
	if e.Label[i] != "" {
		return e.Label[i]
	}
	return e.Field + "=" + e.Value
}

// admission is what a form's settings say about whom it admits besides its
// schedule, parsed once per compiled form.
type admission struct {
	invite bool
	quotas []store.Quota
	err    error // the settings do not parse: the form takes nothing
}

func (a *admission) active() bool { return a.invite || len(a.quotas) > 0 || a.err != nil }

// admissionCache maps a compiled *form.Form to its admission, like
// rulesCache.
var admissionCache sync.Map

func admissionOf(f *form.Form) *admission {
	if a, ok := admissionCache.Load(f); ok {
		return a.(*admission)
	}
	a := &admission{}
	a.invite, a.err = InvitationRequired(f)
	if a.err == nil {
		a.quotas, a.err = ParseQuotas(f)
	}
	v, _ := admissionCache.LoadOrStore(f, a)
	return v.(*admission)
}

// admit applies the invitation and quota rules of latest (the form's
// latest revision, whose settings rule) to the submission id, whose
// answer to a field is answer(field). It returns the stored response when
// id is stored already: a retry must neither spend a token nor take a
// slot again (its slots were freed if it was withdrawn). took tells
// whether quota slots were taken.
func (c *Collector) admit(ctx context.Context, latest *form.Form, formID, id, token string, answer func(field string) string) (stored *store.Response, took bool, err error) {
	a := admissionOf(latest)
	if !a.active() {
		return nil, false, nil
	}
	if a.err != nil {
		c.log.Warn("form invitation or quota settings do not parse; the form is closed until they are fixed", "form", formID, "err", a.err)
		return nil, false, &ClosedError{FormID: formID}
	}
	r, err := c.st.Response(ctx, formID, id)
	switch {
	case err == nil:
		return &r, false, nil
	case !errors.Is(err, store.ErrNotFound):
		return nil, false, err
	}
	if a.invite {
		if err := c.useInvitation(ctx, formID, id, token); err != nil {
			return nil, false, err
		}
	}
	var mine []store.Quota
	for _, q := range a.quotas {
		multi := false
		if qu := latest.Question(q.Field); qu != nil {
			multi = qu.Type == "select_multiple"
		}
		if answered(answer(q.Field), q.Value, multi) {
			mine = append(mine, q)
		}
	}
	if len(mine) == 0 {
		return nil, false, nil
	}
	full, err := c.st.TakeQuotas(ctx, formID, id, mine)
	if err != nil {
		return nil, false, err
	}
	if full >= 0 {
		q := mine[full]
		e := &QuotaFullError{FormID: formID, Field: q.Field, Value: q.Value}
		for i, lang := range []string{"zh", "en"} {
			e.Label[i] = quotaLabel(latest, q, lang)
		}
		c.log.LogAttrs(ctx, slog.LevelInfo, "quota full", slog.String("form", formID),
			slog.String("field", q.Field), slog.String("value", q.Value))
		return nil, false, e
	}
	return nil, true, nil
}

// answered tells whether the answer v is value or, for a select_multiple
// (choices separated by spaces), chooses it.
func answered(v, value string, multi bool) bool {
	if v == value {
		return true
	}
	if !multi {
		return false
	}
	for _, c := range strings.Fields(v) {
		if c == value {
			return true
		}
	}
	return false
}

// quotaLabel is "question: choice" in lang, "" without labels.
func quotaLabel(f *form.Form, q store.Quota, lang string) string {
	qu := f.Question(q.Field)
	if qu == nil {
		return ""
	}
	ql := qu.Label.In(lang)
	cl := q.Value
	if c, ok := f.Choice(qu.ListName, q.Value); ok && c.Label.In(lang) != "" {
		cl = c.Label.In(lang)
	}
	if ql == "" {
		return ""
	}
	return ql + ": " + cl
}
