package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// pgInsertFlags and pgInsertFlagReasons send a whole run's flags as arrays
// in one round trip each, as pgInsertResponses does for responses.
const (
	pgInsertFlags = `INSERT INTO flags (form_id, instance_id, reasons, rule_version, cleaned_at)
		SELECT $1::text, i, r, $2::text, $3::bigint FROM unnest($4::text[], $5::text[]) AS t(i, r)`

	pgInsertFlagReasons = `INSERT INTO flag_reasons (form_id, reason, instance_id)
		SELECT $1::text, r, i FROM unnest($2::text[], $3::text[]) AS t(r, i)`
)

func (s *postgresStore) ReplaceFlags(ctx context.Context, c Cleaning, flags []Flag) (Cleaning, error) {
	if err := checkCleaning(c, flags); err != nil {
		return Cleaning{}, err
	}
	c.CleanedAt = now()
	c.Settings = notNil(c.Settings)
	ids := make([]string, len(flags))
	reasons := make([]string, len(flags))
	var reasonIDs, reasonCodes []string
	for i, fl := range flags {
		ids[i] = fl.InstanceID
		reasons[i] = strings.Join(fl.Reasons, " ")
		for _, r := range fl.Reasons {
			reasonIDs = append(reasonIDs, fl.InstanceID)
			reasonCodes = append(reasonCodes, r)
		}
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, dollar(upsertCleaning), c.FormID, c.RuleVersion, c.Settings, c.Collected, micros(c.CleanedAt)); err != nil {
			return fmt.Errorf("store: cleaning of %s: %w", c.FormID, err)
		}
		for _, q := range []string{deleteFlags, deleteFlagReasons} {
			if _, err := tx.Exec(ctx, dollar(q), c.FormID); err != nil {
				return fmt.Errorf("store: cleaning of %s: %w", c.FormID, err)
			}
		}
		if len(flags) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, pgInsertFlags, c.FormID, c.RuleVersion, micros(c.CleanedAt), ids, reasons); err != nil {
			return fmt.Errorf("store: cleaning of %s: flags: %w", c.FormID, err)
		}
		if _, err := tx.Exec(ctx, pgInsertFlagReasons, c.FormID, reasonCodes, reasonIDs); err != nil {
			return fmt.Errorf("store: cleaning of %s: flag reasons: %w", c.FormID, err)
		}
		for _, q := range []string{deleteWithdrawnFlags, deleteWithdrawnFlagReasons} {
			if _, err := tx.Exec(ctx, dollar(q), c.FormID, c.FormID); err != nil {
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

// EachFlag runs one query and calls fn as rows arrive, as EachResponse does.
func (s *postgresStore) EachFlag(ctx context.Context, f FlagFilter, fn func(Flag) error) error {
	q, args := flagQuery(f)
	rows, err := s.pool.Query(ctx, dollar(q), args...)
	if err != nil {
		return fmt.Errorf("store: flags of %s: %w", f.FormID, err)
	}
	defer rows.Close()
	for rows.Next() {
		fl, err := scanFlag(rows)
		if err != nil {
			return fmt.Errorf("store: flags of %s: %w", f.FormID, err)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("store: flags of %s: %w", f.FormID, err)
		}
		if err := fn(fl); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: flags of %s: %w", f.FormID, err)
	}
	return nil
}
