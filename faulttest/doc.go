// Package faulttest holds govsurvey's process-level fault tests: they build
// the govsurvey binary once per run, start `serve` processes on real
// databases, and break things on purpose — two nodes on one PostgreSQL, the
// database stopped and started under load, a full disk under SQLite, slow
// clients — checking that every acknowledged submission is stored exactly
// once and that a node recovers by itself. The package has no API; see
// docs/operations.md for what the tests back up.
package faulttest
