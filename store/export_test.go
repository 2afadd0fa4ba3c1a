package store

// The newest schema versions this binary knows, for the migration tests.
var (
	SQLiteSchemaVersion   = len(sqliteMigrations)
	PostgresSchemaVersion = len(postgresMigrations)
)

// The migration steps themselves, for the upgrade tests.
var (
	SQLiteMigrations   = sqliteMigrations
	PostgresMigrations = postgresMigrations
)
