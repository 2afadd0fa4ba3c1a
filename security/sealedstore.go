package security

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
)

// SealingStore wraps a store so that every response stored through it is
// split by the Sealer: personal and sensitive answers go to Sealed,
// encrypted, and Answers keeps the rest. It is the one place responses are
// split, whoever stores them (web submissions through group commit, CSV
// imports, the demo, benchmarks): the server and every command open their
// store through it. A response's Raw body, kept by deployments that archive
// submissions, is sealed whole the same way. Reading is unchanged: Answers
// is the de-identified part, and Sealed and Raw stay sealed. Joined gives
// the whole responses to those allowed to see them.
type SealingStore struct {
	store.Store
	sealer *Sealer
	forms  *formCache
	reload func(context.Context) error
}

// NewSealingStore wraps st. A response given with Sealed already set is
// stored as it is (it was split by the caller); Raw is always given as
// received and always sealed.
func NewSealingStore(st store.Store, s *Sealer) *SealingStore {
	return &SealingStore{Store: st, sealer: s, forms: &formCache{st: st}}
}

// ReloadOnUnknownKey makes Join call reload once, and try again, when a
// sealed part names a data key the keyring lacks: another node rotated the
// keyring after this one read it (Keys.Reload).
func (s *SealingStore) ReloadOnUnknownKey(reload func(context.Context) error) { s.reload = reload }

// Sealer returns the sealer the store splits with.
func (s *SealingStore) Sealer() *Sealer { return s.sealer }

// Unwrap returns the wrapped store.
func (s *SealingStore) Unwrap() store.Store { return s.Store }

// AddResponses splits each response, then stores the batch. A response
// whose form revision is not stored fails as the store would fail it.
func (s *SealingStore) AddResponses(ctx context.Context, rs []store.Response) ([]bool, error) {
	out := make([]store.Response, len(rs))
	for i, r := range rs {
		if len(r.Answers) > 0 && r.Sealed == nil {
			f, err := s.forms.get(ctx, r.FormID, r.Revision)
			if err != nil {
				return nil, err
			}
			if r.Answers, r.Sealed, err = s.sealer.Split(f, r.FormID, r.InstanceID, r.Answers); err != nil {
				return nil, err
			}
		}
		if len(r.Raw) > 0 {
			var err error
			if r.Raw, err = s.sealer.SealRaw(r.FormID, r.InstanceID, r.Raw); err != nil {
				return nil, err
			}
		}
		out[i] = r
	}
	return s.Store.AddResponses(ctx, out)
}

// Join returns r whole: its Answers with the sealed answers put back,
// Sealed nil, and its Raw body, if any, opened.
func (s *SealingStore) Join(ctx context.Context, r store.Response) (store.Response, error) {
	if len(r.Sealed) == 0 && len(r.Raw) == 0 {
		return r, nil
	}
	joined, err := s.join(ctx, r)
	if errors.Is(err, ErrUnknownDataKey) && s.reload != nil {
		if rerr := s.reload(ctx); rerr != nil {
			return store.Response{}, errors.Join(err, rerr)
		}
		joined, err = s.join(ctx, r)
	}
	if err != nil {
		return store.Response{}, err
	}
	return joined, nil
}

func (s *SealingStore) join(ctx context.Context, r store.Response) (store.Response, error) {
	if len(r.Sealed) > 0 {
		f, err := s.forms.get(ctx, r.FormID, r.Revision)
		if err != nil {
			return store.Response{}, err
		}
		joined, err := s.sealer.Join(f, r.FormID, r.InstanceID, r.Answers, r.Sealed)
		if err != nil {
			return store.Response{}, err
		}
		r.Answers, r.Sealed = joined, nil
	}
	if len(r.Raw) > 0 {
		body, err := s.sealer.OpenRaw(r.FormID, r.InstanceID, r.Raw)
		if err != nil {
			return store.Response{}, err
		}
		r.Raw = body
	}
	return r, nil
}

// Joined is a view of the store whose Response and EachResponse give
// whole responses (Join), for the readers entitled to personal data:
// cleaning, which must judge every answer, data officers' exports, and
// 'govsurvey raw', which reads the archived body (Response opens Raw;
// EachResponse never reads it).
// The caller decides and audits who gets it.
func (s *SealingStore) Joined() store.Store { return joinedStore{s} }

type joinedStore struct{ *SealingStore }

func (j joinedStore) Response(ctx context.Context, formID, instanceID string) (store.Response, error) {
	r, err := j.SealingStore.Response(ctx, formID, instanceID)
	if err != nil {
		return store.Response{}, err
	}
	return j.Join(ctx, r)
}

func (j joinedStore) EachResponse(ctx context.Context, f store.ResponseFilter, fn func(store.Response) error) error {
	return j.SealingStore.EachResponse(ctx, f, func(r store.Response) error {
		r, err := j.Join(ctx, r)
		if err != nil {
			return err
		}
		return fn(r)
	})
}

// formCache keeps compiled form revisions; a revision never changes.
type formCache struct {
	st store.Store
	mu sync.Mutex
	m  map[formKey]*form.Form
}

type formKey struct {
	id  string
	rev int
}

func (c *formCache) get(ctx context.Context, formID string, revision int) (*form.Form, error) {
	k := formKey{formID, revision}
	c.mu.Lock()
	f, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return f, nil
	}
	fv, err := c.st.FormRevision(ctx, formID, revision)
	if err != nil {
		return nil, err
	}
	f, err = form.FromDefinition(fv.Definition)
	if err != nil {
		return nil, fmt.Errorf("security: form %s revision %d: %w", formID, revision, err)
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[formKey]*form.Form)
	}
	if prev, ok := c.m[k]; ok {
		f = prev
	} else {
		c.m[k] = f
	}
	c.mu.Unlock()
	return f, nil
}
