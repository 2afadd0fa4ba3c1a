package store_test

import (
	"context"
	"testing"

	"github.com/govsurvey/govsurvey/store"
	"github.com/govsurvey/govsurvey/store/storetest"
)

// TestRunExclusive: on PostgreSQL, while one node runs a job, another
// node's attempt at the same job is skipped, a different job runs, and
// once the first is done the job runs again; on SQLite a job always runs.
func TestRunExclusive(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			var a, other store.Store
			if b.Name == "postgres" {
				// Two nodes: a pool each on the same database.
				dsn := storetest.NewPostgresDatabase(t)
				var err error
				if a, err = store.Open(ctx, dsn); err != nil {
					t.Fatal(err)
				}
				defer a.Close()
				if other, err = store.Open(ctx, dsn); err != nil {
					t.Fatal(err)
				}
				defer other.Close()
			} else {
				a = b.Open(t)
				other = a
			}
			inside := make(chan struct{})
			release := make(chan struct{})
			done := make(chan error, 1)
			go func() {
				_, err := store.RunExclusive(ctx, a, "retention", func(context.Context) error {
					close(inside)
					<-release
					return nil
				})
				done <- err
			}()
			<-inside
			ran, err := store.RunExclusive(ctx, other, "retention", func(context.Context) error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			if want := b.Name != "postgres"; ran != want {
				t.Errorf("retention while another node runs it: ran = %v, want %v", ran, want)
			}
			if ran, err := store.RunExclusive(ctx, other, "checkpoint", func(context.Context) error { return nil }); err != nil || !ran {
				t.Errorf("another job while retention runs: ran = %v, %v", ran, err)
			}
			close(release)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if ran, err := store.RunExclusive(ctx, other, "retention", func(context.Context) error { return nil }); err != nil || !ran {
				t.Errorf("retention after the other node finished: ran = %v, %v", ran, err)
			}
		})
	}
}
