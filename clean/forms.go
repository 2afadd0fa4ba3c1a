package clean

import (
	"context"
	"fmt"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
)

// forms compiles the stored revisions of one form, each once. Not safe
// for concurrent use: one run uses it from one goroutine at a time.
type forms struct {
	st     store.Store
	formID string
	m      map[int]*form.Form
}

func newForms(st store.Store, formID string) *forms {
	return &forms{st: st, formID: formID, m: make(map[int]*form.Form)}
}

// latest returns the latest revision; a missing form is store.ErrNotFound.
func (c *forms) latest(ctx context.Context) (*form.Form, error) {
	fv, err := c.st.Form(ctx, c.formID)
	if err != nil {
		return nil, err
	}
	return c.compile(fv)
}

func (c *forms) revision(ctx context.Context, rev int) (*form.Form, error) {
	if f, ok := c.m[rev]; ok {
		return f, nil
	}
	fv, err := c.st.FormRevision(ctx, c.formID, rev)
	if err != nil {
		return nil, err
	}
	return c.compile(fv)
}

func (c *forms) compile(fv store.FormVersion) (*form.Form, error) {
	if f, ok := c.m[fv.Revision]; ok {
		return f, nil
	}
	f, err := form.FromDefinition(fv.Definition)
	if err != nil {
		return nil, fmt.Errorf("clean: form %s revision %d: %w", fv.FormID, fv.Revision, err)
	}
	c.m[fv.Revision] = f
	return f, nil
}
