package collect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
)

// AddForm compiles an XLSForm file and registers it: a new form, a new
// revision of a changed form, or nothing for an unchanged one (created is
// false). The original file is kept byte for byte beside the definition.
//
// AddForm checks the form as the form package does, not the settings
// other packages read (cleaning rules, nets, retention): paths that take
// a form from a user call formcheck.AddForm, which checks them all.
func AddForm(ctx context.Context, st store.Store, name string, data []byte) (fv store.FormVersion, f *form.Form, created bool, err error) {
	f, err = form.Parse(name, data)
	if err != nil {
		return store.FormVersion{}, nil, false, err
	}
	return AddCompiled(ctx, st, name, data, f)
}

// AddCompiled registers f, compiled from the file name holding data, as
// AddForm does, for a caller that has compiled and checked it already.
func AddCompiled(ctx context.Context, st store.Store, name string, data []byte, f *form.Form) (fv store.FormVersion, _ *form.Form, created bool, err error) {
	def, err := f.Definition()
	if err != nil {
		return store.FormVersion{}, nil, false, fmt.Errorf("collect: %w", err)
	}
	sum := sha256.Sum256(def)
	fv, created, err = st.AddForm(ctx, store.FormVersion{
		FormID:     f.ID,
		Version:    f.Version,
		Title:      f.Title,
		Hash:       hex.EncodeToString(sum[:]),
		Definition: def,
		Source:     data,
		SourceName: name,
	})
	if err != nil {
		return store.FormVersion{}, nil, false, err
	}
	return fv, f, created, nil
}

// Forms loads stored form revisions and keeps the compiled forms, so that a
// stream of responses from many revisions decodes each with its own form.
// Safe for concurrent use.
type Forms struct {
	st store.Store
	mu sync.Mutex
	m  map[formKey]*form.Form
}

type formKey struct {
	id  string
	rev int
}

// NewForms returns an empty cache over st.
func NewForms(st store.Store) *Forms {
	return &Forms{st: st, m: make(map[formKey]*form.Form)}
}

// Latest returns the latest revision of a form and its compiled model.
// A missing form is store.ErrNotFound.
func (c *Forms) Latest(ctx context.Context, formID string) (store.FormVersion, *form.Form, error) {
	fv, err := c.st.Form(ctx, formID)
	if err != nil {
		return store.FormVersion{}, nil, err
	}
	f, err := c.compiled(fv)
	return fv, f, err
}

// Revision returns the compiled model of one revision of a form.
func (c *Forms) Revision(ctx context.Context, formID string, revision int) (*form.Form, error) {
	c.mu.Lock()
	f, ok := c.m[formKey{formID, revision}]
	c.mu.Unlock()
	if ok {
		return f, nil
	}
	fv, err := c.st.FormRevision(ctx, formID, revision)
	if err != nil {
		return nil, err
	}
	return c.compiled(fv)
}

func (c *Forms) compiled(fv store.FormVersion) (*form.Form, error) {
	k := formKey{fv.FormID, fv.Revision}
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.m[k]; ok {
		return f, nil
	}
	f, err := form.FromDefinition(fv.Definition)
	if err != nil {
		return nil, fmt.Errorf("collect: form %s revision %d: %w", fv.FormID, fv.Revision, err)
	}
	c.m[k] = f
	return f, nil
}
