package store

import (
	"context"
	"database/sql"
	"fmt"
)

func (s *sqliteStore) WithdrawResponse(ctx context.Context, receipt string) (Response, error) {
	if receipt == "" {
		return Response{}, receiptError(receipt, sql.ErrNoRows)
	}
	var out Response
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		r, err := scanResponse(tx.QueryRowContext(ctx, queryResponseByReceipt, receipt))
		if err != nil {
			return receiptError(receipt, err)
		}
		if !r.WithdrawnAt.IsZero() {
			out = r
			return nil
		}
		at := now()
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{withdrawResponse, []any{[]byte{}, micros(at), r.FormID, r.InstanceID}},
			{deleteResponseFlag, []any{r.FormID, r.InstanceID}},
			{deleteResponseFlagReasons, []any{r.FormID, r.InstanceID}},
		} {
			if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
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

func (s *sqliteStore) Secret(ctx context.Context, name string, value []byte) ([]byte, error) {
	if err := checkSecret(name, value); err != nil {
		return nil, err
	}
	var stored []byte
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, insertSecret, name, value, micros(now())); err != nil {
			return fmt.Errorf("store: secret %s: %w", name, err)
		}
		if err := tx.QueryRowContext(ctx, querySecret, name).Scan(&stored); err != nil {
			return fmt.Errorf("store: secret %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return stored, nil
}
