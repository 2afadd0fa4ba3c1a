package store

import "fmt"

// The schema, one append-only list of steps per dialect. Step i (from 1) is
// recorded in schema_migrations as version i once it has been applied, in the
// same transaction as the step itself. Never edit or reorder a step that has
// been released: add a new one at the end of both lists.
//
// The two lists differ only where the dialects do:
//   - binary columns are BLOB in SQLite and BYTEA in PostgreSQL;
//   - identifiers compared or ordered (form_id, instance_id) are COLLATE "C"
//     in PostgreSQL, so that both order them byte by byte like Go strings;
//   - SQLite tables are STRICT, so a value of the wrong type is refused
//     instead of being stored as whatever it happens to be;
//   - booleans are INTEGER 0/1 with a CHECK in SQLite, BOOLEAN in PostgreSQL;
//   - an autoincrementing id is SQLite's INTEGER PRIMARY KEY (the rowid)
//     and an identity column in PostgreSQL.
//
// Times are BIGINT unix microseconds, UTC, in both: exact, identical in both
// dialects, and cheap to compare for keyset pagination. started and ended are
// NULL when the form had no such field (the zero time.Time).
//
// responses.(form_id, revision) has no FOREIGN KEY to forms: AddResponses
// checks the form revision in its own transaction, and forms are never
// deleted. In PostgreSQL the constraint doubled the cost of a batch (a
// trigger per row) and made every concurrent insert share-lock the same
// forms row, which PostgreSQL tracks with multixacts.

var sqliteMigrations = []string{
	// 1: forms and responses.
	`
	CREATE TABLE forms (
		form_id     TEXT    NOT NULL,
		revision    INTEGER NOT NULL,
		version     TEXT    NOT NULL,
		title       TEXT    NOT NULL,
		hash        TEXT    NOT NULL,
		definition  BLOB    NOT NULL,
		source      BLOB    NOT NULL,
		source_name TEXT    NOT NULL,
		created_at  INTEGER NOT NULL,
		PRIMARY KEY (form_id, revision)
	) STRICT;

	CREATE TABLE responses (
		form_id      TEXT    NOT NULL,
		instance_id  TEXT    NOT NULL,
		revision     INTEGER NOT NULL,
		started      INTEGER,
		ended        INTEGER,
		submitted_at INTEGER NOT NULL,
		client       TEXT    NOT NULL,
		channel      TEXT    NOT NULL,
		answers      BLOB    NOT NULL,
		PRIMARY KEY (form_id, instance_id)
	) STRICT;

	CREATE INDEX responses_form_submitted_idx ON responses (form_id, submitted_at, instance_id);
	`,
	// 2: cleaning. The honeypot marker of a submission; the flags of the
	// last cleaning run of each form (replaced as a whole by the next run),
	// with flag_reasons indexing them by reason for paging; and analysts'
	// overrides, appended, never changed, so their history stays.
	`
	ALTER TABLE responses ADD COLUMN honeypot INTEGER NOT NULL DEFAULT 0 CHECK (honeypot IN (0, 1));

	CREATE TABLE cleanings (
		form_id      TEXT    NOT NULL PRIMARY KEY,
		rule_version TEXT    NOT NULL,
		settings     BLOB    NOT NULL,
		collected    INTEGER NOT NULL,
		cleaned_at   INTEGER NOT NULL
	) STRICT;

	CREATE TABLE flags (
		form_id      TEXT    NOT NULL,
		instance_id  TEXT    NOT NULL,
		reasons      TEXT    NOT NULL,
		rule_version TEXT    NOT NULL,
		cleaned_at   INTEGER NOT NULL,
		PRIMARY KEY (form_id, instance_id)
	) STRICT;

	CREATE TABLE flag_reasons (
		form_id     TEXT NOT NULL,
		reason      TEXT NOT NULL,
		instance_id TEXT NOT NULL,
		PRIMARY KEY (form_id, reason, instance_id)
	) STRICT;

	CREATE TABLE overrides (
		id          INTEGER NOT NULL PRIMARY KEY,
		form_id     TEXT    NOT NULL,
		instance_id TEXT    NOT NULL,
		valid       INTEGER NOT NULL CHECK (valid IN (0, 1)),
		note        TEXT    NOT NULL,
		actor       TEXT    NOT NULL,
		created_at  INTEGER NOT NULL
	) STRICT;

	CREATE INDEX overrides_form_idx ON overrides (form_id, id);
	`,
	// 3: submissions over the web. A response's receipt (the respondent's
	// code for withdrawing it; NULL for imports), its paradata (JSON from
	// package collect: page timings, language) and the time it was
	// withdrawn: a withdrawn response keeps its row, so a retried
	// submission of the same instance_id stays a no-op, but its answers,
	// paradata and client key are erased. secrets holds keys generated
	// once per installation and shared by every serve node, such as the
	// key of the client pseudonyms.
	`
	ALTER TABLE responses ADD COLUMN receipt TEXT;
	ALTER TABLE responses ADD COLUMN paradata BLOB;
	ALTER TABLE responses ADD COLUMN withdrawn_at INTEGER;

	CREATE UNIQUE INDEX responses_receipt_idx ON responses (receipt) WHERE receipt IS NOT NULL;

	CREATE TABLE secrets (
		name       TEXT    NOT NULL PRIMARY KEY,
		value      BLOB    NOT NULL,
		created_at INTEGER NOT NULL
	) STRICT;
	`,
	// 4: security. A response's sealed part (the personal and sensitive
	// answers, SM4-GCM ciphertext made by package security; NULL when it
	// has none, and erased by withdrawal and retention); staff accounts,
	// their sessions (only a hash of the session id) and API tokens (only
	// a hash of the token); and the audit log, an SM3 hash chain by seq,
	// with SM2-signed checkpoints. The audit tables are append-only: no
	// statement of govsurvey updates or deletes them, and triggers refuse
	// it, so only someone who drops the triggers can, and the chain then
	// shows it.
	`
	ALTER TABLE responses ADD COLUMN sealed BLOB;

	CREATE TABLE users (
		name          TEXT    NOT NULL PRIMARY KEY,
		password_hash TEXT    NOT NULL,
		roles         TEXT    NOT NULL,
		disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
		created_at    INTEGER NOT NULL,
		updated_at    INTEGER NOT NULL
	) STRICT;

	CREATE TABLE sessions (
		id_hash    TEXT    NOT NULL PRIMARY KEY,
		user_name  TEXT    NOT NULL,
		created_at INTEGER NOT NULL,
		last_seen  INTEGER NOT NULL,
		expires_at INTEGER NOT NULL
	) STRICT;

	CREATE INDEX sessions_user_idx ON sessions (user_name);

	CREATE TABLE api_tokens (
		hash       TEXT    NOT NULL PRIMARY KEY,
		owner      TEXT    NOT NULL,
		name       TEXT    NOT NULL,
		scopes     TEXT    NOT NULL,
		created_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL,
		revoked_at INTEGER
	) STRICT;

	CREATE INDEX api_tokens_owner_idx ON api_tokens (owner);

	CREATE TABLE audit_log (
		seq       INTEGER NOT NULL PRIMARY KEY,
		at        INTEGER NOT NULL,
		actor     TEXT    NOT NULL,
		action    TEXT    NOT NULL,
		object    TEXT    NOT NULL,
		outcome   TEXT    NOT NULL,
		detail    TEXT    NOT NULL,
		prev_hash BLOB    NOT NULL,
		hash      BLOB    NOT NULL
	) STRICT;

	CREATE TABLE audit_checkpoints (
		seq       INTEGER NOT NULL PRIMARY KEY,
		at        INTEGER NOT NULL,
		hash      BLOB    NOT NULL,
		signature BLOB    NOT NULL
	) STRICT;

	CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
		BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
	CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
		BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
	CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
		BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
	CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
		BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
	`,
	// 5: open data (package publish). Releases and their files are
	// immutable: triggers refuse UPDATE and DELETE, as for the audit log,
	// and a correction is a new version. open_keys keeps only a hash of an
	// API key's secret, with its quotas; open_usage counts each key's
	// requests per day (kept: the usage record) and open_rate per minute
	// (only the current minute is kept), in the database so that a quota
	// holds across serve nodes.
	`
	CREATE TABLE releases (
		id         TEXT    NOT NULL PRIMARY KEY,
		form_id    TEXT    NOT NULL,
		version    INTEGER NOT NULL,
		created_at INTEGER NOT NULL,
		metadata   TEXT    NOT NULL,
		UNIQUE (form_id, version)
	) STRICT;

	CREATE TABLE release_files (
		release_id TEXT    NOT NULL REFERENCES releases (id),
		name       TEXT    NOT NULL,
		size       INTEGER NOT NULL,
		body       BLOB    NOT NULL,
		PRIMARY KEY (release_id, name)
	) STRICT;

	CREATE TRIGGER releases_no_update BEFORE UPDATE ON releases
		BEGIN SELECT RAISE(ABORT, 'releases are immutable'); END;
	CREATE TRIGGER releases_no_delete BEFORE DELETE ON releases
		BEGIN SELECT RAISE(ABORT, 'releases are immutable'); END;
	CREATE TRIGGER release_files_no_update BEFORE UPDATE ON release_files
		BEGIN SELECT RAISE(ABORT, 'releases are immutable'); END;
	CREATE TRIGGER release_files_no_delete BEFORE DELETE ON release_files
		BEGIN SELECT RAISE(ABORT, 'releases are immutable'); END;

	CREATE TABLE open_keys (
		hash       TEXT    NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		owner      TEXT    NOT NULL,
		per_day    INTEGER NOT NULL,
		per_minute INTEGER NOT NULL,
		hours_from INTEGER NOT NULL,
		hours_to   INTEGER NOT NULL,
		created_at INTEGER NOT NULL,
		revoked_at INTEGER
	) STRICT;

	CREATE TABLE open_usage (
		key_hash TEXT    NOT NULL,
		day      TEXT    NOT NULL,
		requests INTEGER NOT NULL,
		PRIMARY KEY (key_hash, day)
	) STRICT;

	CREATE TABLE open_rate (
		key_hash TEXT    NOT NULL,
		minute   TEXT    NOT NULL,
		requests INTEGER NOT NULL,
		PRIMARY KEY (key_hash, minute)
	) STRICT;
	`,
	// 6: invitations and quotas (package collect). An invitation keeps
	// only a hash of its one-time token; instance_id is the submission the
	// token was spent on (NULL while unused), set by one conditional
	// UPDATE so that two submissions racing for a token cannot both win.
	// quota_counts holds the taken slots of each quota (form, field,
	// choice); quota_claims records which submission took which slot, so
	// that a retried submission takes none and a withdrawal frees its own.
	`
	CREATE TABLE invitations (
		token_hash  TEXT    NOT NULL PRIMARY KEY,
		form_id     TEXT    NOT NULL,
		instance_id TEXT,
		created_at  INTEGER NOT NULL,
		used_at     INTEGER
	) STRICT;

	CREATE INDEX invitations_form_idx ON invitations (form_id);

	CREATE TABLE quota_counts (
		form_id TEXT    NOT NULL,
		field   TEXT    NOT NULL,
		value   TEXT    NOT NULL,
		n       INTEGER NOT NULL CHECK (n >= 0),
		PRIMARY KEY (form_id, field, value)
	) STRICT;

	CREATE TABLE quota_claims (
		form_id     TEXT NOT NULL,
		instance_id TEXT NOT NULL,
		field       TEXT NOT NULL,
		value       TEXT NOT NULL,
		PRIMARY KEY (form_id, instance_id, field, value)
	) STRICT;
	`,
	// 7: starts of the web form (store_counts.go), for the completion
	// rate: how many respondents passed the consent page, per form and
	// per hour (hour is the unix microseconds of its first instant, UTC).
	// Nothing about the respondent is kept.
	`
	CREATE TABLE form_starts (
		form_id TEXT    NOT NULL,
		hour    INTEGER NOT NULL,
		n       INTEGER NOT NULL CHECK (n >= 0),
		PRIMARY KEY (form_id, hour)
	) STRICT;
	`,
	// 8: windowed counters shared by serve nodes (sql_counter.go): the
	// login throttle (names are keyed hashes, never an address or a typed
	// user name) and users' daily export volume. Rows expire and are
	// swept; nothing here is a record.
	`
	CREATE TABLE counters (
		name       TEXT    NOT NULL PRIMARY KEY,
		hits       INTEGER NOT NULL CHECK (hits >= 0),
		last_at    INTEGER NOT NULL,
		expires_at INTEGER NOT NULL
	) STRICT;

	CREATE INDEX counters_expires_idx ON counters (expires_at);
	`,
	// 9: background jobs shared by serve nodes (sql_jobs.go), such as the
	// console's report builds: the job's state, owner node and heartbeat,
	// so that any node answers for it and a node that died is noticed, and
	// the files it made. params and progress are JSON of the caller's. The
	// partial unique index admits one queued or running job per kind and
	// form, whichever node asks.
	`
	CREATE TABLE jobs (
		id           INTEGER NOT NULL PRIMARY KEY,
		kind         TEXT    NOT NULL,
		form_id      TEXT    NOT NULL,
		params       TEXT    NOT NULL,
		state        TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
		progress     TEXT    NOT NULL,
		error        TEXT    NOT NULL,
		node         TEXT    NOT NULL,
		created_by   TEXT    NOT NULL,
		created_at   INTEGER NOT NULL,
		claimed_at   INTEGER,
		heartbeat_at INTEGER NOT NULL,
		finished_at  INTEGER
	) STRICT;

	CREATE UNIQUE INDEX jobs_active_idx ON jobs (kind, form_id) WHERE state IN ('queued', 'running');
	CREATE INDEX jobs_form_idx ON jobs (kind, form_id, id);

	CREATE TABLE job_files (
		job_id       INTEGER NOT NULL REFERENCES jobs (id),
		name         TEXT    NOT NULL,
		content_type TEXT    NOT NULL,
		size         INTEGER NOT NULL,
		bytes        BLOB    NOT NULL,
		PRIMARY KEY (job_id, name)
	) STRICT;
	`,
	// 10: when each quota slot was taken (sql_quota.go), so that a slot
	// whose submission was never stored can be given back after a grace
	// period. 0 is a claim made before this step or by an older node in a
	// rolling upgrade: ReleaseStaleQuotas stamps it first, so it waits a
	// whole grace period too.
	`
	ALTER TABLE quota_claims ADD COLUMN claimed_at INTEGER NOT NULL DEFAULT 0;

	CREATE INDEX quota_claims_claimed_idx ON quota_claims (claimed_at);
	`,
	// 11: the raw submission body as received, sealed whole by package
	// security, for deployments that keep an archive (serve --keep-raw);
	// NULL otherwise, and erased (NULL) by withdrawal and retention like
	// sealed. Only Response reads it: analysis never parses it.
	`
	ALTER TABLE responses ADD COLUMN raw BLOB;
	`,
}

var postgresMigrations = []string{
	// 1: forms and responses.
	`
	CREATE TABLE forms (
		form_id     TEXT COLLATE "C" NOT NULL,
		revision    INTEGER NOT NULL,
		version     TEXT    NOT NULL,
		title       TEXT    NOT NULL,
		hash        TEXT    NOT NULL,
		definition  BYTEA   NOT NULL,
		source      BYTEA   NOT NULL,
		source_name TEXT    NOT NULL,
		created_at  BIGINT  NOT NULL,
		PRIMARY KEY (form_id, revision)
	);

	CREATE TABLE responses (
		form_id      TEXT COLLATE "C" NOT NULL,
		instance_id  TEXT COLLATE "C" NOT NULL,
		revision     INTEGER NOT NULL,
		started      BIGINT,
		ended        BIGINT,
		submitted_at BIGINT  NOT NULL,
		client       TEXT    NOT NULL,
		channel      TEXT    NOT NULL,
		answers      BYTEA   NOT NULL,
		PRIMARY KEY (form_id, instance_id)
	);

	CREATE INDEX responses_form_submitted_idx ON responses (form_id, submitted_at, instance_id);
	`,
	// 2: cleaning; see the SQLite step 2.
	`
	ALTER TABLE responses ADD COLUMN honeypot BOOLEAN NOT NULL DEFAULT false;

	CREATE TABLE cleanings (
		form_id      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
		rule_version TEXT   NOT NULL,
		settings     BYTEA  NOT NULL,
		collected    BIGINT NOT NULL,
		cleaned_at   BIGINT NOT NULL
	);

	CREATE TABLE flags (
		form_id      TEXT COLLATE "C" NOT NULL,
		instance_id  TEXT COLLATE "C" NOT NULL,
		reasons      TEXT   NOT NULL,
		rule_version TEXT   NOT NULL,
		cleaned_at   BIGINT NOT NULL,
		PRIMARY KEY (form_id, instance_id)
	);

	CREATE TABLE flag_reasons (
		form_id     TEXT COLLATE "C" NOT NULL,
		reason      TEXT COLLATE "C" NOT NULL,
		instance_id TEXT COLLATE "C" NOT NULL,
		PRIMARY KEY (form_id, reason, instance_id)
	);

	CREATE TABLE overrides (
		id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		form_id     TEXT COLLATE "C" NOT NULL,
		instance_id TEXT COLLATE "C" NOT NULL,
		valid       BOOLEAN NOT NULL,
		note        TEXT    NOT NULL,
		actor       TEXT    NOT NULL,
		created_at  BIGINT  NOT NULL
	);

	CREATE INDEX overrides_form_idx ON overrides (form_id, id);
	`,
	// 3: submissions over the web; see the SQLite step 3.
	`
	ALTER TABLE responses ADD COLUMN receipt TEXT COLLATE "C",
		ADD COLUMN paradata BYTEA,
		ADD COLUMN withdrawn_at BIGINT;

	CREATE UNIQUE INDEX responses_receipt_idx ON responses (receipt) WHERE receipt IS NOT NULL;

	CREATE TABLE secrets (
		name       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
		value      BYTEA  NOT NULL,
		created_at BIGINT NOT NULL
	);
	`,
	// 4: security; see the SQLite step 4. TRUNCATE is refused too.
	`
	ALTER TABLE responses ADD COLUMN sealed BYTEA;

	CREATE TABLE users (
		name          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
		password_hash TEXT    NOT NULL,
		roles         TEXT    NOT NULL,
		disabled      BOOLEAN NOT NULL DEFAULT false,
		created_at    BIGINT  NOT NULL,
		updated_at    BIGINT  NOT NULL
	);

	CREATE TABLE sessions (
		id_hash    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
		user_name  TEXT COLLATE "C" NOT NULL,
		created_at BIGINT NOT NULL,
		last_seen  BIGINT NOT NULL,
		expires_at BIGINT NOT NULL
	);

	CREATE INDEX sessions_user_idx ON sessions (user_name);

	CREATE TABLE api_tokens (
		hash       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
		owner      TEXT COLLATE "C" NOT NULL,
		name       TEXT   NOT NULL,
		scopes     TEXT   NOT NULL,
		created_at BIGINT NOT NULL,
		expires_at BIGINT NOT NULL,
		revoked_at BIGINT
	);

	CREATE INDEX api_tokens_owner_idx ON api_tokens (owner);

	CREATE TABLE audit_log (
		seq       BIGINT NOT NULL PRIMARY KEY,
		at        BIGINT NOT NULL,
		actor     TEXT   NOT NULL,
		action    TEXT   NOT NULL,
		object    TEXT   NOT NULL,
		outcome   TEXT   NOT NULL,
		detail    TEXT   NOT NULL,
		prev_hash BYTEA  NOT NULL,
		hash      BYTEA  NOT NULL
	);

	CREATE TABLE audit_checkpoints (
		seq       BIGINT NOT NULL PRIMARY KEY,
		at        BIGINT NOT NULL,
		hash      BYTEA  NOT NULL,
		signature BYTEA  NOT NULL
	);

	CREATE FUNCTION govsurvey_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
	END
	$$;

	CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
		FOR EACH ROW EXECUTE FUNCTION govsurvey_append_only();
	CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
		FOR EACH STATEMENT EXECUTE FUNCTION govsurvey_append_only();
	CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
		FOR EACH ROW EXECUTE FUNCTION govsurvey_append_only();
	CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
		FOR EACH STATEMENT EXECUTE FUNCTION govsurvey_append_only();
	`,
	// 5: open data; see the SQLite step 5. TRUNCATE is refused too.
	`
	CREATE TABLE releases (
		id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
		form_id    TEXT COLLATE "C" NOT NULL,
		version    INTEGER NOT NULL,
		created_at BIGINT  NOT NULL,
		metadata   TEXT    NOT NULL,
		UNIQUE (form_id, version)
	);

	CREATE TABLE release_files (
		release_id TEXT COLLATE "C" NOT NULL REFERENCES releases (id),
		name       TEXT COLLATE "C" NOT NULL,
		size       BIGINT NOT NULL,
		body       BYTEA  NOT NULL,
		PRIMARY KEY (release_id, name)
	);

	CREATE TRIGGER releases_immutable BEFORE UPDATE OR DELETE ON releases
		FOR EACH ROW EXECUTE FUNCTION govsurvey_append_only();
	CREATE TRIGGER releases_no_truncate BEFORE TRUNCATE ON releases
		FOR EACH STATEMENT EXECUTE FUNCTION govsurvey_append_only();
	CREATE TRIGGER release_files_immutable BEFORE UPDATE OR DELETE ON release_files
		FOR EACH ROW EXECUTE FUNCTION govsurvey_append_only();
	CREATE TRIGGER release_files_no_truncate BEFORE TRUNCATE ON release_files
		FOR EACH STATEMENT EXECUTE FUNCTION govsurvey_append_only();

	CREATE TABLE open_keys (
		hash       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		owner      TEXT    NOT NULL,
		per_day    INTEGER NOT NULL,
		per_minute INTEGER NOT NULL,
		hours_from INTEGER NOT NULL,
		hours_to   INTEGER NOT NULL,
		created_at BIGINT  NOT NULL,
		revoked_at BIGINT
	);

	CREATE TABLE open_usage (
		key_hash TEXT COLLATE "C" NOT NULL,
		day      TEXT COLLATE "C" NOT NULL,
		requests INTEGER NOT NULL,
		PRIMARY KEY (key_hash, day)
	);

	CREATE TABLE open_rate (
		key_hash TEXT COLLATE "C" NOT NULL,
		minute   TEXT COLLATE "C" NOT NULL,
		requests INTEGER NOT NULL,
		PRIMARY KEY (key_hash, minute)
	);
	`,
	// 6: invitations and quotas; see the SQLite step 6.
	`
	CREATE TABLE invitations (
		token_hash  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
		form_id     TEXT COLLATE "C" NOT NULL,
		instance_id TEXT COLLATE "C",
		created_at  BIGINT NOT NULL,
		used_at     BIGINT
	);

	CREATE INDEX invitations_form_idx ON invitations (form_id);

	CREATE TABLE quota_counts (
		form_id TEXT COLLATE "C" NOT NULL,
		field   TEXT COLLATE "C" NOT NULL,
		value   TEXT COLLATE "C" NOT NULL,
		n       INTEGER NOT NULL CHECK (n >= 0),
		PRIMARY KEY (form_id, field, value)
	);

	CREATE TABLE quota_claims (
		form_id     TEXT COLLATE "C" NOT NULL,
		instance_id TEXT COLLATE "C" NOT NULL,
		field       TEXT COLLATE "C" NOT NULL,
		value       TEXT COLLATE "C" NOT NULL,
		PRIMARY KEY (form_id, instance_id, field, value)
	);
	`,
	// 7: starts of the web form; see the SQLite step 7.
	`
	CREATE TABLE form_starts (
		form_id TEXT COLLATE "C" NOT NULL,
		hour    BIGINT NOT NULL,
		n       BIGINT NOT NULL CHECK (n >= 0),
		PRIMARY KEY (form_id, hour)
	);
	`,
	// 8: windowed counters; see the SQLite step 8.
	`
	CREATE TABLE counters (
		name       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
		hits       BIGINT NOT NULL CHECK (hits >= 0),
		last_at    BIGINT NOT NULL,
		expires_at BIGINT NOT NULL
	);

	CREATE INDEX counters_expires_idx ON counters (expires_at);
	`,
	// 9: background jobs; see the SQLite step 9.
	`
	CREATE TABLE jobs (
		id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		kind         TEXT COLLATE "C" NOT NULL,
		form_id      TEXT COLLATE "C" NOT NULL,
		params       TEXT   NOT NULL,
		state        TEXT   NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
		progress     TEXT   NOT NULL,
		error        TEXT   NOT NULL,
		node         TEXT   NOT NULL,
		created_by   TEXT   NOT NULL,
		created_at   BIGINT NOT NULL,
		claimed_at   BIGINT,
		heartbeat_at BIGINT NOT NULL,
		finished_at  BIGINT
	);

	CREATE UNIQUE INDEX jobs_active_idx ON jobs (kind, form_id) WHERE state IN ('queued', 'running');
	CREATE INDEX jobs_form_idx ON jobs (kind, form_id, id);

	CREATE TABLE job_files (
		job_id       BIGINT NOT NULL REFERENCES jobs (id),
		name         TEXT COLLATE "C" NOT NULL,
		content_type TEXT   NOT NULL,
		size         BIGINT NOT NULL,
		bytes        BYTEA  NOT NULL,
		PRIMARY KEY (job_id, name)
	);
	`,
	// 10: when each quota slot was taken; see the SQLite step 10.
	`
	ALTER TABLE quota_claims ADD COLUMN claimed_at BIGINT NOT NULL DEFAULT 0;

	CREATE INDEX quota_claims_claimed_idx ON quota_claims (claimed_at);
	`,
	// 11: the sealed raw submission body; see the SQLite step 11. BYTEA,
	// not jsonb: it is an archive, never queried, and a sealed body is not
	// JSON anyway.
	`
	ALTER TABLE responses ADD COLUMN raw BYTEA;
	`,
}

// createMigrationsTable is the one statement outside the lists: the table
// that records them. Portable as written.
const createMigrationsTable = `
	CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		applied_at BIGINT  NOT NULL
	)`

// SchemaTooNewError refuses a database migrated by a newer govsurvey: this
// binary does not know its schema and must not write to it.
type SchemaTooNewError struct {
	Database int // the version recorded in the database
	Known    int // the newest version this binary knows
}

func (e *SchemaTooNewError) Error() string {
	return fmt.Sprintf("store: database schema version %d is newer than this govsurvey (%d); upgrade govsurvey", e.Database, e.Known)
}

// checkSchemaVersion is the start-up check shared by both dialects.
func checkSchemaVersion(database, known int) error {
	if database > known {
		return &SchemaTooNewError{Database: database, Known: known}
	}
	return nil
}
