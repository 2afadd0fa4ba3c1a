package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Quotas per choice (package collect): a form may stop taking submissions
// that answer field with value once limit of them are in. The counters are
// in the database, taken by a conditional increment, so that a quota holds
// however many serve nodes answer; each slot records the submission that
// took it, so that a retry takes no second slot and a withdrawal frees it.

// Quota is one quota of a form: at most Limit submissions answering Field
// with Value (for a select_multiple, choosing Value).
type Quota struct {
	Field string
	Value string
	Limit int
}

// QuotaCount is how many slots of one quota are taken.
type QuotaCount struct {
	Field string
	Value string
	N     int
}

// QuotaStore is what quotas keep in the store.
type QuotaStore interface {
	// TakeQuotas takes one slot of each of qs for the submission
	// instanceID of formID, in one transaction: all of them, or, when one
	// is full, none, and full is the index in qs of a full one (-1 when
	// all were taken). A quota this instance already holds a slot of is
	// not counted again.
	TakeQuotas(ctx context.Context, formID, instanceID string, qs []Quota) (full int, err error)
	// ReleaseQuotas frees every slot the submission holds and returns how
	// many; releasing twice frees nothing more.
	ReleaseQuotas(ctx context.Context, formID, instanceID string) (int, error)
	// QuotaCounts returns the taken slots of a form's quotas, by field
	// and value.
	QuotaCounts(ctx context.Context, formID string) ([]QuotaCount, error)
	// ReleaseStaleQuotas frees, in one transaction, every slot taken
	// more than grace before now by a submission that has no stored
	// response (its commit failed and its client never retried), and
	// returns how many. A slot whose time is unknown (taken before schema
	// step 10, or by an older node) is stamped with now instead, so it
	// too waits a whole grace period.
	ReleaseStaleQuotas(ctx context.Context, now time.Time, grace time.Duration) (int, error)
}

const (
	insertQuotaClaim = `INSERT INTO quota_claims (form_id, instance_id, field, value, claimed_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (form_id, instance_id, field, value) DO NOTHING`

	insertQuotaCount = `INSERT INTO quota_counts (form_id, field, value, n) VALUES (?, ?, ?, 0)
		ON CONFLICT (form_id, field, value) DO NOTHING`

	// The condition is the whole of the limit: concurrent increments of
	// one row are serialised by the database, and PostgreSQL re-checks
	// n < limit on the row the previous one left.
	takeQuota = `UPDATE quota_counts SET n = n + 1 WHERE form_id = ? AND field = ? AND value = ? AND n < ?`

	queryQuotaClaims = `SELECT field, value FROM quota_claims WHERE form_id = ? AND instance_id = ?`

	deleteQuotaClaim = `DELETE FROM quota_claims WHERE form_id = ? AND instance_id = ? AND field = ? AND value = ?`

	releaseQuota = `UPDATE quota_counts SET n = n - 1 WHERE form_id = ? AND field = ? AND value = ? AND n > 0`

	queryQuotaCounts = `SELECT field, value, n FROM quota_counts WHERE form_id = ? ORDER BY field, value`

	stampQuotaClaims = `UPDATE quota_claims SET claimed_at = ? WHERE claimed_at = 0`

	// Ordered by form, field and value, the order in which TakeQuotas and
	// ReleaseQuotas lock the counters, so that none of them deadlocks.
	queryStaleQuotaClaims = `SELECT form_id, instance_id, field, value FROM quota_claims c
		WHERE claimed_at > 0 AND claimed_at < ?
		AND NOT EXISTS (SELECT 1 FROM responses r WHERE r.form_id = c.form_id AND r.instance_id = c.instance_id)
		ORDER BY form_id, field, value, instance_id`

	// The response is looked for again: one stored since the query keeps
	// its slot.
	deleteStaleQuotaClaim = `DELETE FROM quota_claims
		WHERE form_id = ? AND instance_id = ? AND field = ? AND value = ?
		AND NOT EXISTS (SELECT 1 FROM responses r WHERE r.form_id = ? AND r.instance_id = ?)`
)

// errQuotaFull rolls back the slots taken before a full quota.
var errQuotaFull = errors.New("store: quota full")

func (s shared) TakeQuotas(ctx context.Context, formID, instanceID string, qs []Quota) (int, error) {
	if formID == "" || instanceID == "" {
		return -1, errors.New("store: a quota slot needs a form and an instance")
	}
	for _, q := range qs {
		if q.Limit < 0 || checkText("quota field", q.Field) != nil || checkText("quota value", q.Value) != nil {
			return -1, fmt.Errorf("store: form %s: bad quota %s=%s:%d", formID, q.Field, q.Value, q.Limit)
		}
	}
	// Rows are locked in one order (field, value) by every transaction,
	// so two submissions taking the same quotas cannot deadlock.
	order := make([]int, len(qs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(qs[a].Field, qs[b].Field), cmp.Compare(qs[a].Value, qs[b].Value))
	})
	// The time of the claim is the node's, as for every other time in
	// the store; ReleaseStaleQuotas leaves a grace period for skew.
	at := time.Now()
	full := -1
	err := s.d.tx(ctx, func(tx querier) error {
		for _, i := range order {
			q := qs[i]
			// The claim first: a concurrent transaction of the same
			// instance waits on it and then finds it taken.
			n, err := tx.exec(ctx, insertQuotaClaim, formID, instanceID, q.Field, q.Value, micros(at))
			if err != nil {
				return fmt.Errorf("store: taking quota %s=%s of %s: %w", q.Field, q.Value, formID, err)
			}
			if n == 0 {
				continue // this instance holds a slot already
			}
			if _, err := tx.exec(ctx, insertQuotaCount, formID, q.Field, q.Value); err != nil {
				return fmt.Errorf("store: taking quota %s=%s of %s: %w", q.Field, q.Value, formID, err)
			}
			n, err = tx.exec(ctx, takeQuota, formID, q.Field, q.Value, q.Limit)
			if err != nil {
				return fmt.Errorf("store: taking quota %s=%s of %s: %w", q.Field, q.Value, formID, err)
			}
			if n == 0 {
				full = i
				return errQuotaFull
			}
		}
		return nil
	})
	if errors.Is(err, errQuotaFull) {
		return full, nil
	}
	if err != nil {
		return -1, err
	}
	return -1, nil
}

func (s shared) ReleaseQuotas(ctx context.Context, formID, instanceID string) (int, error) {
	freed := 0
	err := s.d.tx(ctx, func(tx querier) error {
		freed = 0 // the transaction may be run again
		rows, err := tx.query(ctx, queryQuotaClaims, formID, instanceID)
		if err != nil {
			return fmt.Errorf("store: releasing quotas of %s: %w", formID, err)
		}
		var claims []QuotaCount
		for rows.Next() {
			var c QuotaCount
			if err := rows.Scan(&c.Field, &c.Value); err != nil {
				rows.Close()
				return fmt.Errorf("store: releasing quotas of %s: %w", formID, err)
			}
			claims = append(claims, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: releasing quotas of %s: %w", formID, err)
		}
		slices.SortFunc(claims, func(a, b QuotaCount) int {
			return cmp.Or(cmp.Compare(a.Field, b.Field), cmp.Compare(a.Value, b.Value))
		})
		for _, c := range claims {
			// Only the transaction that deletes the claim frees its slot:
			// two releases at once free it once.
			n, err := tx.exec(ctx, deleteQuotaClaim, formID, instanceID, c.Field, c.Value)
			if err != nil {
				return fmt.Errorf("store: releasing quota %s=%s of %s: %w", c.Field, c.Value, formID, err)
			}
			if n == 0 {
				continue
			}
			if _, err := tx.exec(ctx, releaseQuota, formID, c.Field, c.Value); err != nil {
				return fmt.Errorf("store: releasing quota %s=%s of %s: %w", c.Field, c.Value, formID, err)
			}
			freed++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return freed, nil
}

func (s shared) QuotaCounts(ctx context.Context, formID string) ([]QuotaCount, error) {
	rows, err := s.d.reader().query(ctx, queryQuotaCounts, formID)
	if err != nil {
		return nil, fmt.Errorf("store: quotas of %s: %w", formID, err)
	}
	defer rows.Close()
	var out []QuotaCount
	for rows.Next() {
		var c QuotaCount
		if err := rows.Scan(&c.Field, &c.Value, &c.N); err != nil {
			return nil, fmt.Errorf("store: quotas of %s: %w", formID, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: quotas of %s: %w", formID, err)
	}
	return out, nil
}

func (s shared) ReleaseStaleQuotas(ctx context.Context, now time.Time, grace time.Duration) (int, error) {
	if grace < 0 {
		return 0, fmt.Errorf("store: negative quota grace %s", grace)
	}
	cutoff := now.Add(-grace)
	type claim struct{ form, instance, field, value string }
	freed := 0
	err := s.d.tx(ctx, func(tx querier) error {
		freed = 0 // the transaction may be run again
		if _, err := tx.exec(ctx, stampQuotaClaims, micros(now)); err != nil {
			return fmt.Errorf("store: releasing stale quotas: %w", err)
		}
		rows, err := tx.query(ctx, queryStaleQuotaClaims, micros(cutoff))
		if err != nil {
			return fmt.Errorf("store: releasing stale quotas: %w", err)
		}
		var claims []claim
		for rows.Next() {
			var c claim
			if err := rows.Scan(&c.form, &c.instance, &c.field, &c.value); err != nil {
				rows.Close()
				return fmt.Errorf("store: releasing stale quotas: %w", err)
			}
			claims = append(claims, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: releasing stale quotas: %w", err)
		}
		for _, c := range claims {
			// As in ReleaseQuotas, only the deleting transaction frees
			// the slot.
			n, err := tx.exec(ctx, deleteStaleQuotaClaim, c.form, c.instance, c.field, c.value, c.form, c.instance)
			if err != nil {
				return fmt.Errorf("store: releasing quota %s=%s of %s: %w", c.field, c.value, c.form, err)
			}
			if n == 0 {
				continue
			}
			if _, err := tx.exec(ctx, releaseQuota, c.form, c.field, c.value); err != nil {
				return fmt.Errorf("store: releasing quota %s=%s of %s: %w", c.field, c.value, c.form, err)
			}
			freed++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return freed, nil
}
