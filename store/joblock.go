package store

import (
	"context"
	"fmt"
	"hash/fnv"
)

// jobLockSpace is mixed into every job lock key, so that govsurvey's job
// locks do not collide with other advisory locks on a shared server
// (migrationLockKey is another of them).
const jobLockSpace = 0x6a62 // "jb"

// RunExclusive runs fn unless another node is running the job called name
// at this moment, and tells whether it ran. Background jobs (retention,
// audit checkpoints) call it so that several serve nodes on one PostgreSQL
// database take turns instead of all doing the same work at once: the
// lock is a session-level pg_try_advisory_lock, held on one pooled
// connection for the length of fn, and released if the node dies (its
// connection ends). A node that finds the lock taken skips this round.
// With SQLite, one file and in practice one node, fn simply runs: SQLite's
// single writer already serialises the writes.
func RunExclusive(ctx context.Context, st Store, name string, fn func(context.Context) error) (bool, error) {
	pg, ok := st.(*postgresStore)
	if !ok {
		return true, fn(ctx)
	}
	conn, err := pg.pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("store: job %s: %w", name, err)
	}
	defer conn.Release()
	key := jobLockKey(name)
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err != nil {
		return false, fmt.Errorf("store: job %s: %w", name, err)
	}
	if !got {
		return false, nil
	}
	defer func() {
		// Unlock on the same connection; if that fails, drop the
		// connection, which releases the lock with it.
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	return true, fn(ctx)
}

func jobLockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64()&0x0000ffffffffffff) | jobLockSpace<<48
}
