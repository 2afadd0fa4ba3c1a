package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// sqliteFlagChunk is how many flags EachFlag reads per query, for the same
// reason as sqliteChunk: no read transaction lives as long as the stream.
const sqliteFlagChunk = 1000

func (s *sqliteStore) ReplaceFlags(ctx context.Context, c Cleaning, flags []Flag) (Cleaning, error) {
	if err := checkCleaning(c, flags); err != nil {
		return Cleaning{}, err
	}
	c.CleanedAt = now()
	c.Settings = notNil(c.Settings)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, upsertCleaning, c.FormID, c.RuleVersion, c.Settings, c.Collected, micros(c.CleanedAt)); err != nil {
			return fmt.Errorf("store: cleaning of %s: %w", c.FormID, err)
		}
		for _, q := range []string{deleteFlags, deleteFlagReasons} {
			if _, err := tx.ExecContext(ctx, q, c.FormID); err != nil {
				return fmt.Errorf("store: cleaning of %s: %w", c.FormID, err)
			}
		}
		flagStmt, err := tx.PrepareContext(ctx, insertFlag)
		if err != nil {
			return fmt.Errorf("store: cleaning of %s: %w", c.FormID, err)
		}
		defer flagStmt.Close()
		reasonStmt, err := tx.PrepareContext(ctx, insertFlagReason)
		if err != nil {
			return fmt.Errorf("store: cleaning of %s: %w", c.FormID, err)
		}
		defer reasonStmt.Close()
		cleaned := micros(c.CleanedAt)
		for _, fl := range flags {
			if _, err := flagStmt.ExecContext(ctx, c.FormID, fl.InstanceID, strings.Join(fl.Reasons, " "), c.RuleVersion, cleaned); err != nil {
				return fmt.Errorf("store: flagging response %s: %w", fl.InstanceID, err)
			}
			for _, r := range fl.Reasons {
				if _, err := reasonStmt.ExecContext(ctx, c.FormID, r, fl.InstanceID); err != nil {
					return fmt.Errorf("store: flagging response %s: %w", fl.InstanceID, err)
				}
			}
		}
		for _, q := range []string{deleteWithdrawnFlags, deleteWithdrawnFlagReasons} {
			if _, err := tx.ExecContext(ctx, q, c.FormID, c.FormID); err != nil {
				return fmt.Errorf("store: cleaning of %s: %w", c.FormID, err)
			}
		}
		return nil
	})
	if err != nil {
		return Cleaning{}, err
	}
	return c, nil
}

// EachFlag reads in chunks by keyset pagination on instance_id and calls
// fn outside any transaction, as EachResponse does.
func (s *sqliteStore) EachFlag(ctx context.Context, f FlagFilter, fn func(Flag) error) error {
	remaining := f.Limit
	page := f
	chunk := make([]Flag, 0, sqliteFlagChunk)
	for {
		page.Limit = sqliteFlagChunk
		if remaining > 0 && remaining < page.Limit {
			page.Limit = remaining
		}
		q, args := flagQuery(page)
		var err error
		chunk, err = s.flagChunk(ctx, chunk[:0], q, args...)
		if err != nil {
			return fmt.Errorf("store: flags of %s: %w", f.FormID, err)
		}
		for _, fl := range chunk {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("store: flags of %s: %w", f.FormID, err)
			}
			if err := fn(fl); err != nil {
				return err
			}
		}
		if remaining > 0 {
			remaining -= len(chunk)
			if remaining == 0 {
				return nil
			}
		}
		if len(chunk) < page.Limit {
			return nil
		}
		page.After = chunk[len(chunk)-1].InstanceID
	}
}

func (s *sqliteStore) flagChunk(ctx context.Context, chunk []Flag, q string, args ...any) ([]Flag, error) {
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		fl, err := scanFlag(rows)
		if err != nil {
			return nil, err
		}
		chunk = append(chunk, fl)
	}
	return chunk, rows.Err()
}
