package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// WithdrawResponse locks the row (FOR UPDATE) so that two withdrawals of
// one receipt at once erase it once and both see the same time.
func (s *postgresStore) WithdrawResponse(ctx context.Context, receipt string) (Response, error) {
	if receipt == "" {
		return Response{}, receiptError(receipt, pgx.ErrNoRows)
	}
	var out Response
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		r, err := scanResponse(tx.QueryRow(ctx, dollar(queryResponseByReceipt)+` FOR UPDATE`, receipt))
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
			if _, err := tx.Exec(ctx, dollar(q.sql), q.args...); err != nil {
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
func (s *postgresStore) Secret(ctx context.Context, name string, value []byte) ([]byte, error) {
	if err := checkSecret(name, value); err != nil {
		return nil, err
	}
	var stored []byte
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, dollar(insertSecret), name, value, micros(now())); err != nil {
			return fmt.Errorf("store: secret %s: %w", name, err)
		}
		if err := tx.QueryRow(ctx, dollar(querySecret), name).Scan(&stored); err != nil {
			return fmt.Errorf("store: secret %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return stored, nil
}
