package store

import (
	"fmt"
	"time"
)

// What web submissions add to the store: withdrawing a response by its
// receipt, and the installation's secrets.

const (
	queryResponseByReceipt = `SELECT ` + responseReadColumns + ` FROM responses WHERE receipt = ?`

	// The answers column is NOT NULL: erased answers are the empty value.
	withdrawResponse = `UPDATE responses SET answers = ?, sealed = NULL, paradata = NULL, client = '', withdrawn_at = ?
		WHERE form_id = ? AND instance_id = ? AND withdrawn_at IS NULL`

	deleteResponseFlag = `DELETE FROM flags WHERE form_id = ? AND instance_id = ?`

	deleteResponseFlagReasons = `DELETE FROM flag_reasons WHERE form_id = ? AND instance_id = ?`

	insertSecret = `INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO NOTHING`

	querySecret = `SELECT value FROM secrets WHERE name = ?`
)

func receiptError(receipt string, err error) error {
	if isNoRows(err) {
		return fmt.Errorf("store: receipt %s: %w", receipt, ErrNotFound)
	}
	return fmt.Errorf("store: receipt %s: %w", receipt, err)
}

// withdrawn is r as WithdrawResponse leaves it.
func withdrawn(r Response, at time.Time) Response {
	r.Answers, r.Sealed, r.Paradata, r.Client, r.WithdrawnAt = []byte{}, nil, nil, "", at
	return r
}

func checkSecret(name string, value []byte) error {
	if name == "" || len(value) == 0 {
		return fmt.Errorf("store: a secret needs a name and a value")
	}
	return checkText("secret name", name)
}
