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

func (s *postgresStore) Cleaning(ctx context.Context, formID string) (Cleaning, error) {
	c, err := scanCleaning(s.pool.QueryRow(ctx, dollar(queryCleaning), formID))
	if err != nil {
		return Cleaning{}, cleaningError(formID, err)
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

func (s *postgresStore) AddOverride(ctx context.Context, o Override) (Override, error) {
	if err := checkOverride(o); err != nil {
		return Override{}, err
	}
	o.CreatedAt = now()
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, dollar(queryResponseExists), o.FormID, o.InstanceID).Scan(&n); err != nil {
			return fmt.Errorf("store: override of response %s: %w", o.InstanceID, err)
		}
		if n == 0 {
			return fmt.Errorf("store: override of response %s of form %s: %w", o.InstanceID, o.FormID, ErrNotFound)
		}
		err := tx.QueryRow(ctx, dollar(insertOverride), o.FormID, o.InstanceID, o.Valid, o.Note, o.Actor, micros(o.CreatedAt)).Scan(&o.ID)
		if err != nil {
			return fmt.Errorf("store: override of response %s: %w", o.InstanceID, err)
		}
		return nil
	})
	if err != nil {
		return Override{}, err
	}
	return o, nil
}

func (s *postgresStore) Overrides(ctx context.Context, formID string) ([]Override, error) {
	rows, err := s.pool.Query(ctx, dollar(queryOverrides), formID)
	if err != nil {
		return nil, fmt.Errorf("store: overrides of %s: %w", formID, err)
	}
	defer rows.Close()
	var out []Override
	for rows.Next() {
		o, err := scanOverride(rows)
		if err != nil {
			return nil, fmt.Errorf("store: overrides of %s: %w", formID, err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: overrides of %s: %w", formID, err)
	}
	return out, nil
}
