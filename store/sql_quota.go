package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
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
}

const (
	insertQuotaClaim = `INSERT INTO quota_claims (form_id, instance_id, field, value) VALUES (?, ?, ?, ?)
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
	full := -1
	err := s.d.tx(ctx, func(tx querier) error {
		for _, i := range order {
			q := qs[i]
			// The claim first: a concurrent transaction of the same
			// instance waits on it and then finds it taken.
			n, err := tx.exec(ctx, insertQuotaClaim, formID, instanceID, q.Field, q.Value)
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
