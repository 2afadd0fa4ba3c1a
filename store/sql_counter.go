package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// What several serve nodes on one database must share besides the data:
// windowed counters, so that a limit (the login throttle, the daily export
// volume of a user) is one budget for the installation rather than one per
// node, and a ping for the load balancer's readiness check.
//
// A counter is a name, a count, the time of its last hit and an expiry: a
// counter not hit for its window is expired, reads as zero and starts again
// from zero at its next hit. Names are chosen by the caller and must not
// carry personal data (the login throttle keys them by a keyed hash).
// Times come from the caller's clock; nodes should keep theirs in sync (NTP).

// Counter is one windowed counter as it stands.
type Counter struct {
	Name    string
	Count   int
	Last    time.Time // time of the last counted hit
	Expires time.Time // Last + window: after this the counter reads as zero
}

// ClusterStore is what serve nodes share through the store beyond the data.
type ClusterStore interface {
	// AddCounter adds n (>= 1) to the counter name at now and returns its
	// count after, atomically across nodes: of several nodes adding at
	// once, each sees a different count. An expired counter starts again
	// from zero; every hit moves the expiry to now+window.
	AddCounter(ctx context.Context, name string, n int, window time.Duration, now time.Time) (int, error)
	// TakeCounter adds one hit to name at now only if at least gap(count)
	// has passed since its last hit, count being the hits before this one
	// (zero when expired); otherwise it counts nothing and returns the
	// wait. It returns the count after (or as it stands, when refused).
	// The decision and the hit are one transaction: two nodes cannot both
	// take the last allowed hit.
	TakeCounter(ctx context.Context, name string, window time.Duration, now time.Time, gap func(count int) time.Duration) (count int, wait time.Duration, err error)
	// Counters lists the counters whose name starts with prefix and that
	// have not expired at now, by name. The prefix must end in an ASCII
	// character (e.g. "export-alert:").
	Counters(ctx context.Context, prefix string, now time.Time) ([]Counter, error)
	// ResetCounter forgets a counter (nothing when there is none).
	ResetCounter(ctx context.Context, name string) error
	// DeleteExpiredCounters drops the counters expired at now and returns
	// how many.
	DeleteExpiredCounters(ctx context.Context, now time.Time) (int, error)
	// Ping checks that the database answers a query: the readiness of a
	// serve node.
	Ping(ctx context.Context) error
}

const (
	addCounter = `INSERT INTO counters (name, hits, last_at, expires_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET
			hits = CASE WHEN counters.expires_at <= excluded.last_at THEN excluded.hits ELSE counters.hits + excluded.hits END,
			last_at = excluded.last_at,
			expires_at = excluded.expires_at
		RETURNING hits`

	// lockCounter creates the counter if missing (as already expired) and
	// returns it; the no-op update takes the row lock in PostgreSQL until
	// the transaction ends, and SQLite's write transaction holds the
	// database's one write lock anyway.
	lockCounter = `INSERT INTO counters (name, hits, last_at, expires_at) VALUES (?, 0, ?, ?)
		ON CONFLICT (name) DO UPDATE SET hits = counters.hits
		RETURNING hits, last_at, expires_at`

	updateCounter = `UPDATE counters SET hits = ?, last_at = ?, expires_at = ? WHERE name = ?`

	queryCounters = `SELECT name, hits, last_at, expires_at FROM counters
		WHERE name >= ? AND name < ? AND expires_at > ? ORDER BY name`

	deleteCounter = `DELETE FROM counters WHERE name = ?`

	deleteExpiredCounters = `DELETE FROM counters WHERE expires_at <= ?`

	queryPing = `SELECT 1`
)

func checkCounter(name string, window time.Duration) error {
	if name == "" {
		return errors.New("store: a counter needs a name")
	}
	if window <= 0 {
		return fmt.Errorf("store: counter %q: window must be positive", name)
	}
	return nil
}

func (s shared) AddCounter(ctx context.Context, name string, n int, window time.Duration, now time.Time) (int, error) {
	if err := checkCounter(name, window); err != nil {
		return 0, err
	}
	if n < 1 {
		return 0, fmt.Errorf("store: counter %q: adding %d", name, n)
	}
	var count int
	err := s.d.tx(ctx, func(q querier) error {
		return q.queryRow(ctx, addCounter, name, n, micros(now), micros(now.Add(window))).Scan(&count)
	})
	if err != nil {
		return 0, fmt.Errorf("store: counter %q: %w", name, err)
	}
	return count, nil
}

func (s shared) TakeCounter(ctx context.Context, name string, window time.Duration, now time.Time, gap func(int) time.Duration) (int, time.Duration, error) {
	if err := checkCounter(name, window); err != nil {
		return 0, 0, err
	}
	var count int
	var wait time.Duration
	err := s.d.tx(ctx, func(q querier) error {
		var last, expires int64
		if err := q.queryRow(ctx, lockCounter, name, micros(now), micros(now)).Scan(&count, &last, &expires); err != nil {
			return err
		}
		if expires <= micros(now) {
			count = 0
		}
		if count > 0 {
			wait = fromMicros(last).Add(gap(count)).Sub(now)
			if wait > 0 {
				return nil // refused: nothing to write
			}
		}
		wait = 0
		count++
		_, err := q.exec(ctx, updateCounter, count, micros(now), micros(now.Add(window)), name)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("store: counter %q: %w", name, err)
	}
	return count, wait, nil
}

func (s shared) Counters(ctx context.Context, prefix string, now time.Time) ([]Counter, error) {
	if prefix == "" || prefix[len(prefix)-1] >= 0x7f {
		return nil, fmt.Errorf("store: counter prefix %q must end in an ASCII character", prefix)
	}
	// Names compare byte by byte in both dialects (COLLATE "C" in
	// PostgreSQL), so the names with the prefix are a range: up to the
	// prefix with its last byte raised by one.
	upper := prefix[:len(prefix)-1] + string(prefix[len(prefix)-1]+1)
	rows, err := s.d.reader().query(ctx, queryCounters, prefix, upper, micros(now))
	if err != nil {
		return nil, fmt.Errorf("store: counters: %w", err)
	}
	defer rows.Close()
	var out []Counter
	for rows.Next() {
		var c Counter
		var last, expires int64
		if err := rows.Scan(&c.Name, &c.Count, &last, &expires); err != nil {
			return nil, fmt.Errorf("store: counters: %w", err)
		}
		c.Last, c.Expires = fromMicros(last), fromMicros(expires)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: counters: %w", err)
	}
	return out, nil
}

func (s shared) ResetCounter(ctx context.Context, name string) error {
	err := s.d.tx(ctx, func(q querier) error {
		_, err := q.exec(ctx, deleteCounter, name)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: counter %q: %w", name, err)
	}
	return nil
}

func (s shared) DeleteExpiredCounters(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.d.tx(ctx, func(q querier) error {
		var err error
		n, err = q.exec(ctx, deleteExpiredCounters, micros(now))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: expired counters: %w", err)
	}
	return int(n), nil
}

func (s shared) Ping(ctx context.Context) error {
	var one int
	if err := s.d.reader().queryRow(ctx, queryPing).Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}
