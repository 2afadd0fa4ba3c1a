package store

import (
	"slices"
	"testing"
)

func TestDollar(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"a = ? AND b = ?", "a = $1 AND b = $2"},
		{"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"},
		{"名 = ?", "名 = $1"},
	}
	for _, tt := range tests {
		if got := dollar(tt.in); got != tt.want {
			t.Errorf("dollar(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestNewBatch checks the order in which a batch is inserted (by key, so
// that concurrent batches lock rows in one order) and that each row still
// points back at the caller's position of its first occurrence.
func TestNewBatch(t *testing.T) {
	r := func(form, id string) Response { return Response{FormID: form, Revision: 1, InstanceID: id} }
	rs := []Response{r("f", "c"), r("f", "a"), r("e", "z"), r("f", "c"), r("f", "B")}
	b, err := newBatch(rs)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, row := range b.rows {
		keys = append(keys, row.FormID+"/"+row.InstanceID)
	}
	if want := []string{"e/z", "f/B", "f/a", "f/c"}; !slices.Equal(keys, want) {
		t.Errorf("rows = %v, want %v", keys, want)
	}
	if want := []int{2, 4, 1, 0}; !slices.Equal(b.index, want) {
		t.Errorf("index = %v, want %v", b.index, want)
	}
	if len(b.revisions) != 2 {
		t.Errorf("revisions = %v, want e/1 and f/1", b.revisions)
	}
}

// TestMigrationsInStep keeps the two dialects' schemas at the same version:
// a step added to one list only would make the versions mean different
// schemas.
func TestMigrationsInStep(t *testing.T) {
	if len(sqliteMigrations) != len(postgresMigrations) {
		t.Errorf("%d SQLite migrations, %d PostgreSQL ones", len(sqliteMigrations), len(postgresMigrations))
	}
}
