package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// One-time invitations (package collect): a form may take submissions only
// with an invitation token. The store keeps a hash of each token, never the
// token, and which submission spent it. The state is in the database so
// that a token is spent once however many serve nodes answer.

// ErrInvitationUsed refuses a token already spent on another submission.
var ErrInvitationUsed = errors.New("store: invitation already used")

// InvitationCounts counts a form's invitations.
type InvitationCounts struct {
	Total int
	Used  int
}

// AdmissionStore is what decides which submissions a form admits besides
// its schedule: invitations and quotas (sql_quota.go).
type AdmissionStore interface {
	InviteStore
	QuotaStore
}

// InviteStore is what invitations keep in the store.
type InviteStore interface {
	// AddInvitations stores unused invitations of formID, one per token
	// hash, in one transaction: all or, when a hash is already stored
	// (ErrExists), none.
	AddInvitations(ctx context.Context, formID string, hashes []string, at time.Time) error
	// UseInvitation spends the invitation with the token hash on the
	// submission instanceID of formID, atomically across nodes. Spending
	// it again on the same instance succeeds (a retried submission);
	// another instance gets ErrInvitationUsed, and a hash unknown for
	// that form ErrNotFound.
	UseInvitation(ctx context.Context, formID, hash, instanceID string, at time.Time) error
	// InvitationCounts counts a form's invitations, all and spent.
	InvitationCounts(ctx context.Context, formID string) (InvitationCounts, error)
}

const (
	insertInvitation = `INSERT INTO invitations (token_hash, form_id, instance_id, created_at, used_at)
		VALUES (?, ?, NULL, ?, NULL) ON CONFLICT (token_hash) DO NOTHING`

	// The condition is the whole of the one-time rule: the row changes
	// only while unused or already this instance's, and concurrent
	// updates of one row are serialised by the database (PostgreSQL
	// re-checks the condition on the row the winner left).
	useInvitation = `UPDATE invitations SET instance_id = ?, used_at = coalesce(used_at, ?)
		WHERE token_hash = ? AND form_id = ? AND (instance_id IS NULL OR instance_id = ?)`

	queryInvitationForm = `SELECT form_id FROM invitations WHERE token_hash = ?`

	queryInvitationCounts = `SELECT count(*), count(instance_id) FROM invitations WHERE form_id = ?`
)

// maxInvitationBatch bounds the hashes AddInvitations takes at once: a
// batch is one transaction and is held in memory.
const maxInvitationBatch = 100000

func (s shared) AddInvitations(ctx context.Context, formID string, hashes []string, at time.Time) error {
	if err := checkText("form", formID); err != nil || formID == "" {
		return fmt.Errorf("store: invitations need a form")
	}
	if len(hashes) > maxInvitationBatch {
		return fmt.Errorf("store: at most %d invitations at once", maxInvitationBatch)
	}
	for _, h := range hashes {
		if h == "" || checkText("invitation hash", h) != nil {
			return fmt.Errorf("store: invitations of %s: bad token hash", formID)
		}
	}
	return s.d.tx(ctx, func(q querier) error {
		for _, h := range hashes {
			n, err := q.exec(ctx, insertInvitation, h, formID, micros(at))
			if err != nil {
				return fmt.Errorf("store: adding invitations of %s: %w", formID, err)
			}
			if n == 0 {
				return fmt.Errorf("store: invitation of %s: %w", formID, ErrExists)
			}
		}
		return nil
	})
}

func (s shared) UseInvitation(ctx context.Context, formID, hash, instanceID string, at time.Time) error {
	if hash == "" || instanceID == "" {
		return fmt.Errorf("store: invitation of %s: %w", formID, ErrNotFound)
	}
	return s.d.tx(ctx, func(q querier) error {
		n, err := q.exec(ctx, useInvitation, instanceID, micros(at), hash, formID, instanceID)
		if err != nil {
			return fmt.Errorf("store: using an invitation of %s: %w", formID, err)
		}
		if n > 0 {
			return nil
		}
		var owner string
		err = q.queryRow(ctx, queryInvitationForm, hash).Scan(&owner)
		switch {
		case isNoRows(err):
			return fmt.Errorf("store: invitation of %s: %w", formID, ErrNotFound)
		case err != nil:
			return fmt.Errorf("store: using an invitation of %s: %w", formID, err)
		case owner != formID:
			// Another form's token is no invitation to this one.
			return fmt.Errorf("store: invitation of %s: %w", formID, ErrNotFound)
		}
		return fmt.Errorf("store: invitation of %s: %w", formID, ErrInvitationUsed)
	})
}

func (s shared) InvitationCounts(ctx context.Context, formID string) (InvitationCounts, error) {
	var c InvitationCounts
	if err := s.d.reader().queryRow(ctx, queryInvitationCounts, formID).Scan(&c.Total, &c.Used); err != nil {
		return InvitationCounts{}, fmt.Errorf("store: invitations of %s: %w", formID, err)
	}
	return c, nil
}
