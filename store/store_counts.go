package store

import (
	"context"
	"fmt"
	"time"
)

// CountsStore answers the console's collection progress with queries over
// the responses table: several serve nodes share one database, so the
// numbers must come from it, never from one node's memory.
type CountsStore interface {
	// CollectionCounts counts a form's responses (all revisions,
	// withdrawn ones left out): in all, since q.Since, per hour over
	// q.Hours hours from q.HoursFrom, and the median time from start to
	// end of those with both.
	CollectionCounts(ctx context.Context, formID string, q CountsQuery) (CollectionCounts, error)
	// AddStarts adds each count to its form's counter of the hour that
	// holds its Hour, in one transaction: an increment, so that every
	// node adds its own.
	AddStarts(ctx context.Context, cs []StartCount) error
}

// StartCount is a number of starts of a form's web page within one hour.
type StartCount struct {
	FormID string
	Hour   time.Time // any instant of the hour; the counter is the hour's
	N      int
}

// CountsQuery says which windows CollectionCounts counts.
type CountsQuery struct {
	Since     time.Time // count responses submitted at or after it (e.g. today's midnight)
	HoursFrom time.Time // start of the first hourly bucket
	Hours     int       // number of hourly buckets, 0 to MaxCountHours
}

// MaxCountHours bounds CountsQuery.Hours (a month of hours).
const MaxCountHours = 31 * 24

// CollectionCounts is what CollectionCounts found.
type CollectionCounts struct {
	Total int
	Since int
	// Hourly[i] counts responses submitted in [HoursFrom+i h, HoursFrom+(i+1) h).
	Hourly []int
	// Timed counts responses with a start and an end time, end not before
	// start; MedianDuration is the median of end − start over them (the
	// mean of the middle two for an even count; 0 when Timed is 0).
	Timed          int
	MedianDuration time.Duration
	// Starts counts the form's starts (AddStarts) in the hourly window,
	// all of it: the denominator of a completion rate over those hours.
	Starts int
}

// collectionCounts is CollectionCounts written once for both dialects:
// times are BIGINT microseconds in both, and integer division buckets
// them alike.
func collectionCounts(ctx context.Context, q querier, formID string, cq CountsQuery) (CollectionCounts, error) {
	if cq.Hours < 0 || cq.Hours > MaxCountHours {
		return CollectionCounts{}, fmt.Errorf("store: counts of %s: %d hours (at most %d)", formID, cq.Hours, MaxCountHours)
	}
	wrap := func(err error) (CollectionCounts, error) {
		return CollectionCounts{}, fmt.Errorf("store: counts of %s: %w", formID, err)
	}
	out := CollectionCounts{Hourly: make([]int, cq.Hours)}
	const live = `form_id = ? AND withdrawn_at IS NULL`
	if err := q.queryRow(ctx, `SELECT count(*), coalesce(sum(CASE WHEN submitted_at >= ? THEN 1 ELSE 0 END), 0) FROM responses WHERE `+live,
		micros(cq.Since), formID).Scan(&out.Total, &out.Since); err != nil {
		return wrap(err)
	}
	if cq.Hours > 0 {
		from := micros(cq.HoursFrom)
		to := from + int64(cq.Hours)*int64(time.Hour/time.Microsecond)
		rows, err := q.query(ctx, `SELECT (submitted_at - ?) / 3600000000, count(*) FROM responses
			WHERE `+live+` AND submitted_at >= ? AND submitted_at < ? GROUP BY 1`, from, formID, from, to)
		if err != nil {
			return wrap(err)
		}
		for rows.Next() {
			var bucket int64
			var n int
			if err := rows.Scan(&bucket, &n); err != nil {
				rows.Close()
				return wrap(err)
			}
			if bucket >= 0 && bucket < int64(cq.Hours) {
				out.Hourly[bucket] += n
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return wrap(err)
		}
	}
	if cq.Hours > 0 {
		from := micros(cq.HoursFrom.Truncate(time.Hour))
		to := from + int64(cq.Hours)*int64(time.Hour/time.Microsecond)
		if err := q.queryRow(ctx, `SELECT coalesce(sum(n), 0) FROM form_starts WHERE form_id = ? AND hour >= ? AND hour < ?`,
			formID, from, to).Scan(&out.Starts); err != nil {
			return wrap(err)
		}
	}
	const timed = live + ` AND started IS NOT NULL AND ended IS NOT NULL AND ended >= started`
	if err := q.queryRow(ctx, `SELECT count(*) FROM responses WHERE `+timed, formID).Scan(&out.Timed); err != nil {
		return wrap(err)
	}
	if out.Timed == 0 {
		return out, nil
	}
	// The median by one ordered read of the middle one or two: both
	// dialects can, and SQLite has no percentile function.
	rows, err := q.query(ctx, `SELECT ended - started FROM responses WHERE `+timed+` ORDER BY 1 LIMIT ? OFFSET ?`,
		formID, 2-out.Timed%2, (out.Timed-1)/2)
	if err != nil {
		return wrap(err)
	}
	var sum, n int64
	for rows.Next() {
		var d int64
		if err := rows.Scan(&d); err != nil {
			rows.Close()
			return wrap(err)
		}
		sum += d
		n++
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return wrap(err)
	}
	if n > 0 {
		out.MedianDuration = time.Duration(sum/n) * time.Microsecond
	}
	return out, nil
}

// addStarts is AddStarts written once for both dialects.
func addStarts(ctx context.Context, d dialect, cs []StartCount) error {
	if len(cs) == 0 {
		return nil
	}
	err := d.tx(ctx, func(q querier) error {
		for _, c := range cs {
			if c.N < 0 {
				return fmt.Errorf("%d starts of %s", c.N, c.FormID)
			}
			if _, err := q.exec(ctx, `INSERT INTO form_starts (form_id, hour, n) VALUES (?, ?, ?)
				ON CONFLICT (form_id, hour) DO UPDATE SET n = form_starts.n + excluded.n`,
				c.FormID, micros(c.Hour.Truncate(time.Hour)), c.N); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: add starts: %w", err)
	}
	return nil
}
