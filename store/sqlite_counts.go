package store

import "context"

// CollectionCounts implements CountsStore on the read pool.
func (s *sqliteStore) CollectionCounts(ctx context.Context, formID string, q CountsQuery) (CollectionCounts, error) {
	return collectionCounts(ctx, s.reader(), formID, q)
}

// AddStarts implements CountsStore.
func (s *sqliteStore) AddStarts(ctx context.Context, cs []StartCount) error {
	return addStarts(ctx, s, cs)
}
