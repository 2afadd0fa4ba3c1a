// Package security owns govsurvey's protection of people and evidence.
//
// The primitives, which do no I/O beyond reading a key file:
//
//   - field encryption at rest: a Keyring of SM4 data keys wrapped by a
//     master key, sealing values with SM4-GCM bound to their response and
//     field (keyring.go, masterkey.go);
//   - pseudonyms: keyed SM3-HMAC for the client and rate-limit keys, so raw
//     IPs and device ids are never stored (pseudonym.go);
//   - detection of personal data in free text: Chinese mobile numbers,
//     resident ID-card numbers, e-mail addresses (personal.go);
//   - staff accounts: argon2id passwords, login throttling, API tokens, and
//     the one role/permission table (password.go, throttle.go, token.go,
//     roles.go);
//   - the tamper-evident audit chain: SM3-linked entries and SM2-signed
//     checkpoints (audit.go).
//
// And their use over the store, which keeps what they produce:
//
//   - field classification at rest: which answers are sealed, and the one
//     place responses are split into a de-identified plain part and a
//     sealed part and joined back (answers.go, sealedstore.go);
//   - the installation's keys: the wrapped keyring, the sealed pseudonym
//     and audit signing keys, rotation and rewrapping (installation.go);
//   - the audit log with periodic checkpoints, its verification and its
//     export (auditlog.go);
//   - staff accounts, sessions and tokens, every change and login audited
//     (accounts.go);
//   - retention: erasing personal data past a form's retention_days
//     (retention.go).
//
// No function in this package logs, and no error it returns contains key
// material, a password, a token, an answer or a value being pseudonymised.
package security
