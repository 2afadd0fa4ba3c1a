package store

import "context"

// CollectionCounts implements CountsStore through the pool.
func (s *postgresStore) CollectionCounts(ctx context.Context, formID string, q CountsQuery) (CollectionCounts, error) {
	return collectionCounts(ctx, s.reader(), formID, q)
}

// AddStarts implements CountsStore.
func (s *postgresStore) AddStarts(ctx context.Context, cs []StartCount) error {
	return addStarts(ctx, s, cs)
}
