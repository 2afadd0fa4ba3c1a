package security

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/govsurvey/govsurvey/store"
)

// The installation's keys live in the store, none in the clear:
//
//   - the keyring, wrapped by the master key (which is never stored);
//   - the pseudonym key, sealed by the keyring;
//   - the audit signing key (SM2, PKCS #8 PEM), sealed by the keyring, and
//     its public half in the clear, for auditors.
//
// Every serve node on one database opens the same keys with the same
// master key; the first to start creates them.
const (
	SecretKeyring        = "keyring"
	SecretPseudonymKey   = "pseudonym_key.sealed"
	SecretAuditKey       = "audit_signing_key.sealed"
	SecretAuditPublicKey = "audit_public_key"

	// legacyPseudonymKey is where servers before encryption at rest kept
	// the pseudonym key in the clear; OpenKeys seals it and removes it.
	legacyPseudonymKey = "pseudonym_key"
)

// auditKeyAAD binds a sealed audit signing key to its role.
const auditKeyAAD = "govsurvey/audit-signing-key/v1"

// Keys are the installation's keys, opened with the master key.
type Keys struct {
	st     store.Store
	master MasterKey
	sealer *Sealer

	mu      sync.Mutex // serialises Rotate, Rewrap and Reload
	wrapped []byte     // the stored keyring the sealer's keyring was read from

	// Pseudonym keys the client and rate-limit pseudonyms.
	Pseudonym PseudonymKey
	// Audit signs audit checkpoints.
	Audit *AuditSigner
}

// KeyOptions are keys given from outside instead of kept in the store.
type KeyOptions struct {
	// Pseudonym, when set, is used instead of the stored one (the
	// operator's GOVSURVEY_PSEUDONYM_KEY).
	Pseudonym *PseudonymKey
	// Audit, when set, signs checkpoints instead of the stored key (an
	// SM2 key the operator keeps off the database).
	Audit *AuditSigner
}

// OpenKeys opens the keys kept in st with master, creating any that do
// not exist yet. A keyring wrapped by another master key fails with
// ErrWrongMasterKey.
func OpenKeys(ctx context.Context, st store.Store, master MasterKey, opts KeyOptions) (*Keys, error) {
	fresh, err := NewKeyring(master)
	if err != nil {
		return nil, err
	}
	wrapped, err := st.Secret(ctx, SecretKeyring, fresh.MarshalWrapped())
	fresh.Destroy()
	if err != nil {
		return nil, err
	}
	kr, err := LoadWrapped(master, wrapped)
	if err != nil {
		return nil, err
	}
	k := &Keys{st: st, master: master, sealer: NewSealer(kr), wrapped: wrapped}

	if opts.Pseudonym != nil {
		k.Pseudonym = *opts.Pseudonym
	} else if k.Pseudonym, err = openPseudonymKey(ctx, st, kr); err != nil {
		return nil, err
	}
	if opts.Audit != nil {
		k.Audit = opts.Audit
	} else if k.Audit, err = openAuditKey(ctx, st, kr); err != nil {
		return nil, err
	}
	return k, nil
}

func openPseudonymKey(ctx context.Context, st store.Store, kr *Keyring) (PseudonymKey, error) {
	// A key kept in the clear by an older server is adopted, so that
	// client keys stay comparable, then removed.
	candidate, err := GeneratePseudonymKey()
	if err != nil {
		return PseudonymKey{}, err
	}
	legacy, err := st.LookupSecret(ctx, legacyPseudonymKey)
	switch {
	case err == nil && len(legacy) == PseudonymKeySize:
		candidate = PseudonymKey{b: legacy}
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return PseudonymKey{}, err
	}
	sealedKey, err := SealPseudonymKey(kr, candidate)
	if err != nil {
		return PseudonymKey{}, err
	}
	stored, err := st.Secret(ctx, SecretPseudonymKey, sealedKey)
	if err != nil {
		return PseudonymKey{}, err
	}
	key, err := OpenPseudonymKey(kr, stored)
	if err != nil {
		return PseudonymKey{}, err
	}
	if legacy != nil {
		if err := st.DeleteSecret(ctx, legacyPseudonymKey); err != nil {
			return PseudonymKey{}, err
		}
	}
	return key, nil
}

func openAuditKey(ctx context.Context, st store.Store, kr *Keyring) (*AuditSigner, error) {
	gen, err := GenerateAuditSigner()
	if err != nil {
		return nil, err
	}
	pemBytes, err := gen.MarshalPEM()
	if err != nil {
		return nil, err
	}
	sealedKey, err := kr.Seal(pemBytes, []byte(auditKeyAAD))
	clear(pemBytes)
	if err != nil {
		return nil, err
	}
	stored, err := st.Secret(ctx, SecretAuditKey, sealedKey)
	if err != nil {
		return nil, err
	}
	opened, err := kr.Open(stored, []byte(auditKeyAAD))
	if err != nil {
		return nil, fmt.Errorf("security: audit signing key: %w", err)
	}
	signer, err := ParseAuditSigner(opened)
	clear(opened)
	if err != nil {
		return nil, err
	}
	pub, err := signer.Verifier().MarshalPEM()
	if err != nil {
		return nil, err
	}
	if _, err := st.Secret(ctx, SecretAuditPublicKey, pub); err != nil {
		return nil, err
	}
	return signer, nil
}

// Sealer returns the sealer holding the keyring.
func (k *Keys) Sealer() *Sealer { return k.sealer }

// Keyring returns the keyring in use.
func (k *Keys) Keyring() *Keyring { return k.sealer.Keyring() }

// Reload reads the keyring from the store again, to pick up a rotation
// made by another node or by 'govsurvey keys rotate'.
func (k *Keys) Reload(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	wrapped, err := k.st.LookupSecret(ctx, SecretKeyring)
	if err != nil {
		return err
	}
	kr, err := LoadWrapped(k.master, wrapped)
	if err != nil {
		return err
	}
	k.sealer.SetKeyring(kr)
	k.wrapped = wrapped
	return nil
}

// Rotate adds a data key and makes it current, in the store first: the
// keyring is read afresh, rotated and written back only if nobody changed
// it meanwhile (store.ErrConflict otherwise; try again). Stored answers
// are not touched: older keys still open them. It returns the new key id.
func (k *Keys) Rotate(ctx context.Context) (uint32, error) {
	var id uint32
	err := k.update(ctx, k.master, func(kr *Keyring) error {
		var err error
		id, err = kr.Rotate()
		return err
	})
	return id, err
}

// Rewrap wraps the data keys under newMaster instead of the current master
// key, in the store. Sealed answers, the pseudonym key and the audit key
// stay as they are. From then on only newMaster opens the keys; the old
// one can be destroyed.
func (k *Keys) Rewrap(ctx context.Context, newMaster MasterKey) error {
	err := k.update(ctx, k.master, func(kr *Keyring) error { return kr.Rewrap(newMaster) })
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.master = newMaster
	k.mu.Unlock()
	return nil
}

// update reads the stored keyring with master, changes it with fn and
// stores it if it is still the one read.
func (k *Keys) update(ctx context.Context, master MasterKey, fn func(*Keyring) error) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	old, err := k.st.LookupSecret(ctx, SecretKeyring)
	if err != nil {
		return err
	}
	kr, err := LoadWrapped(master, old)
	if err != nil {
		return err
	}
	if err := fn(kr); err != nil {
		kr.Destroy()
		return err
	}
	wrapped := kr.MarshalWrapped()
	if err := k.st.ReplaceSecret(ctx, SecretKeyring, old, wrapped); err != nil {
		kr.Destroy()
		return err
	}
	k.sealer.SetKeyring(kr)
	k.wrapped = wrapped
	return nil
}

// StoredAuditVerifier returns the audit public key kept in the store. It
// is only as trustworthy as the database: an auditor checks the log
// against a copy of the key kept elsewhere (audit verify --public-key).
func StoredAuditVerifier(ctx context.Context, st store.Store) (*AuditVerifier, error) {
	pemBytes, err := st.LookupSecret(ctx, SecretAuditPublicKey)
	if err != nil {
		return nil, err
	}
	return ParseAuditVerifier(pemBytes)
}
