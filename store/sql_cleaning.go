package store

import (
	"context"
	"fmt"
)

// The cleaning statements whose SQL is the same in both dialects, written
// once against the seam (seam.go); ReplaceFlags and EachFlag stay per
// dialect (PostgreSQL copies and streams, SQLite pages).

func (s shared) Cleaning(ctx context.Context, formID string) (Cleaning, error) {
	c, err := scanCleaning(s.d.reader().queryRow(ctx, queryCleaning, formID))
	if err != nil {
		return Cleaning{}, cleaningError(formID, err)
	}
	return c, nil
}

func (s shared) AddOverride(ctx context.Context, o Override) (Override, error) {
	if err := checkOverride(o); err != nil {
		return Override{}, err
	}
	o.CreatedAt = now()
	err := s.d.tx(ctx, func(q querier) error {
		var n int
		if err := q.queryRow(ctx, queryResponseExists, o.FormID, o.InstanceID).Scan(&n); err != nil {
			return fmt.Errorf("store: override of response %s: %w", o.InstanceID, err)
		}
		if n == 0 {
			return fmt.Errorf("store: override of response %s of form %s: %w", o.InstanceID, o.FormID, ErrNotFound)
		}
		err := q.queryRow(ctx, insertOverride, o.FormID, o.InstanceID, o.Valid, o.Note, o.Actor, micros(o.CreatedAt)).Scan(&o.ID)
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

func (s shared) Overrides(ctx context.Context, formID string) ([]Override, error) {
	rows, err := s.d.reader().query(ctx, queryOverrides, formID)
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
