package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// What web submissions add to the store: withdrawing a response by its
// receipt, and the installation's secrets.

const (
	queryResponseByReceipt = `SELECT ` + responseReadColumns + ` FROM responses WHERE receipt = ?`

	// The answers column is NOT NULL: erased answers are the empty value.
	withdrawResponse = `UPDATE responses SET answers = ?, sealed = NULL, raw = NULL, paradata = NULL, client = '', withdrawn_at = ?
		WHERE form_id = ? AND instance_id = ? AND withdrawn_at IS NULL`

	deleteResponseFlag = `DELETE FROM flags WHERE form_id = ? AND instance_id = ?`

	deleteResponseFlagReasons = `DELETE FROM flag_reasons WHERE form_id = ? AND instance_id = ?`

	insertSecret = `INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO NOTHING`

	querySecret = `SELECT value FROM secrets WHERE name = ?`
)

func receiptError(receipt string, err error) error {
	if isNoRows(err) {
		return fmt.Errorf("store: receipt %s: %w", receipt, ErrNotFound)
	}
	return fmt.Errorf("store: receipt %s: %w", receipt, err)
}

// withdrawn is r as WithdrawResponse leaves it.
func withdrawn(r Response, at time.Time) Response {
	r.Answers, r.Sealed, r.Raw, r.Paradata, r.Client, r.WithdrawnAt = []byte{}, nil, nil, nil, "", at
	return r
}

func checkSecret(name string, value []byte) error {
	if name == "" || len(value) == 0 {
		return fmt.Errorf("store: a secret needs a name and a value")
	}
	return checkText("secret name", name)
}

// WithdrawResponse locks the row (FOR UPDATE in PostgreSQL; SQLite's write
// transaction holds the lock already) so that two withdrawals of one
// receipt at once erase it once and both see the same time.
func (s shared) WithdrawResponse(ctx context.Context, receipt string) (Response, error) {
	if receipt == "" {
		return Response{}, receiptError(receipt, sql.ErrNoRows)
	}
	var out Response
	err := s.d.tx(ctx, func(q querier) error {
		r, err := scanResponse(q.queryRow(ctx, queryResponseByReceipt+s.d.forUpdate(), receipt))
		if err != nil {
			return receiptError(receipt, err)
		}
		if !r.WithdrawnAt.IsZero() {
			out = r
			return nil
		}
		at := now()
		for _, st := range []struct {
			sql  string
			args []any
		}{
			{withdrawResponse, []any{[]byte{}, micros(at), r.FormID, r.InstanceID}},
			{deleteResponseFlag, []any{r.FormID, r.InstanceID}},
			{deleteResponseFlagReasons, []any{r.FormID, r.InstanceID}},
		} {
			if _, err := q.exec(ctx, st.sql, st.args...); err != nil {
				return fmt.Errorf("store: withdrawing response %s of form %s: %w", r.InstanceID, r.FormID, err)
			}
		}
		out = withdrawn(r, at)
		return nil
	})
	if err != nil {
		return Response{}, err
	}
	return out, nil
}

// Secret inserts and reads back in one transaction: a node that loses the
// race waits on the winner's row, then reads the winner's value.
func (s shared) Secret(ctx context.Context, name string, value []byte) ([]byte, error) {
	if err := checkSecret(name, value); err != nil {
		return nil, err
	}
	var stored []byte
	err := s.d.tx(ctx, func(q querier) error {
		if _, err := q.exec(ctx, insertSecret, name, value, micros(now())); err != nil {
			return fmt.Errorf("store: secret %s: %w", name, err)
		}
		if err := q.queryRow(ctx, querySecret, name).Scan(&stored); err != nil {
			return fmt.Errorf("store: secret %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return stored, nil
}
