// Package security owns govsurvey's cryptographic and account primitives:
//
//   - field encryption at rest: a Keyring of SM4 data keys wrapped by a
//     master key, sealing answers with SM4-GCM bound to their response and
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
// Nothing here does I/O beyond reading a key file; storing keyrings, audit
// entries, users and tokens is the store package's job. No function in this
// package logs, and no error it returns contains key material, a password,
// a token or a value being pseudonymised.
package security
