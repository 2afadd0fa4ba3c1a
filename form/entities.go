package form

import (
	"sort"
	"strings"
)

// The entities sheet (ODK entities) declares lists that a submission
// creates or updates; survey rows feed them through save_to. govsurvey keeps
// the columns as written (Extra) and does not run entities, but it refuses
// the declarations pyxform 4.5 refuses, so a form that works here works in
// ODK and KoboToolbox, and the reverse. The allocation of entities to
// containers below follows pyxform's algorithm: every entity belongs to one
// container (the survey, a group or a repeat), chosen from where its
// save_to rows and ${references} sit, and a container holds one entity.

// entityColumns are the columns pyxform accepts on the entities sheet.
var entityColumns = set("list_name", "dataset", "entity_id", "create_if", "update_if", "label")

type entityDecl struct {
	name string
	row  int
}

type entities struct {
	sheet  string
	decls  []*entityDecl
	byName map[string]*entityDecl
	varRef map[string][]string // question name → entity lists whose expressions name it
	refs   map[string]*entityRefs
	order  []string // entity lists in the order their first reference was seen
}

// containerNode is one step of a container path: the survey, a group or a
// repeat.
type containerNode struct{ name, kind string }

type containerPath []containerNode

func surveyScope() containerPath { return containerPath{{name: "survey", kind: "survey"}} }

func (p containerPath) child(name, kind string) containerPath {
	out := make(containerPath, len(p), len(p)+1)
	copy(out, p)
	return append(out, containerNode{name: name, kind: kind})
}

func (p containerPath) String() string {
	var b strings.Builder
	for _, n := range p {
		b.WriteByte('/')
		b.WriteString(n.name)
	}
	return b.String()
}

func (p containerPath) key() string {
	var b strings.Builder
	for _, n := range p {
		b.WriteString(n.name)
		b.WriteByte(':')
		b.WriteString(n.kind)
		b.WriteByte('/')
	}
	return b.String()
}

func (p containerPath) equal(q containerPath) bool { return p.key() == q.key() }

// boundary is the path up to the innermost repeat (or the survey): the
// scope in which one submission holds one copy of the container.
func (p containerPath) boundary() containerPath {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i].kind == "repeat" || p[i].kind == "survey" {
			return p[:i+1]
		}
	}
	return surveyScope()
}

// repeats counts the repeats in the path.
func (p containerPath) repeats() int {
	n := 0
	for i := len(p) - 1; i > 0; i-- {
		if p[i].kind == "repeat" {
			n++
		}
	}
	return n
}

// groupsBelowBoundary counts the groups inside the innermost repeat.
func (p containerPath) groupsBelowBoundary() int {
	n := 0
	for i := len(p) - 1; i >= 0; i-- {
		if p[i].kind == "repeat" || p[i].kind == "survey" {
			break
		}
		n++
	}
	return n
}

// entityRef is one survey row tied to an entity: by save_to (property) or
// by being named in the entity's expressions (question).
type entityRef struct {
	path     containerPath
	row      int
	property string
	question string
}

type entityRefs struct {
	decl *entityDecl
	refs []entityRef
}

// readEntities reads the entities sheet, before the survey.
func (c *compiler) readEntities() {
	s := c.wb.Sheet("entities")
	if s == nil || len(s.Rows) == 0 {
		return
	}
	e := &entities{sheet: s.Name, byName: map[string]*entityDecl{}, varRef: map[string][]string{}, refs: map[string]*entityRefs{}}
	c.ent = e
	var unknown []string
	for _, h := range s.Header {
		if h != "" && !entityColumns[snake(h)] {
			unknown = append(unknown, h)
		}
	}
	if len(unknown) > 0 {
		c.problem(s.Name, 1, "unknown column(s) %s on the entities sheet; the columns are list_name, entity_id, create_if, update_if and label", quoteList(unknown))
	}
	for _, r := range s.Rows {
		get := func(col string) string {
			for _, h := range s.Header {
				if snake(h) == col {
					return smartQuotes.Replace(r.Cells[h])
				}
			}
			return ""
		}
		name := get("list_name")
		if name == "" {
			name = get("dataset")
		}
		id, createIf, updateIf, label := get("entity_id"), get("create_if"), get("update_if"), get("label")
		switch {
		case name == "":
			c.problem(s.Name, r.Num, "entity list has no list_name")
			continue
		case strings.HasPrefix(name, "__"):
			c.problem(s.Name, r.Num, "entity list name '%s' must not begin with two underscores", name)
		case strings.Contains(name, "."):
			c.problem(s.Name, r.Num, "entity list name '%s' must not contain a period", name)
		case !validName(name):
			c.problem(s.Name, r.Num, "invalid entity list name '%s': names must begin with a letter or underscore, followed by letters, digits, underscores or hyphens", name)
		}
		switch {
		case id == "" && updateIf != "":
			c.problem(s.Name, r.Num, "entity list '%s' has update_if but no entity_id: updating an entity needs its id", name)
		case id != "" && createIf != "" && updateIf == "":
			c.problem(s.Name, r.Num, "entity list '%s' has create_if and entity_id but no update_if, which upserting needs", name)
		case id == "" && label == "":
			c.problem(s.Name, r.Num, "entity list '%s' has no label, which creating entities needs", name)
		}
		if first, dup := e.byName[name]; dup {
			c.problem(s.Name, r.Num, "entity list '%s' is declared twice (first at row %d)", name, first.row)
			continue
		}
		d := &entityDecl{name: name, row: r.Num}
		e.decls = append(e.decls, d)
		e.byName[name] = d
		seen := map[string]bool{}
		for _, h := range s.Header {
			col := snake(h)
			v := r.Cells[h]
			if v == "" || col == "list_name" || col == "dataset" || !entityColumns[col] {
				continue
			}
			c.refs = append(c.refs, refUse{sheet: s.Name, row: r.Num, column: h, value: v})
			for _, m := range reRef.FindAllStringSubmatch(v, -1) {
				if !seen[m[1]] {
					seen[m[1]] = true
					e.varRef[m[1]] = append(e.varRef[m[1]], name)
				}
			}
		}
	}
}

func (e *entities) refsOf(d *entityDecl) *entityRefs {
	r, ok := e.refs[d.name]
	if !ok {
		r = &entityRefs{decl: d}
		e.refs[d.name] = r
		e.order = append(e.order, d.name)
	}
	return r
}

// entitySaveTo reads the save_to cell of a survey row.
func (c *compiler) entitySaveTo(sheet string, row int, v cells, scope containerPath, container bool) {
	saveTo := ""
	for h, val := range v.extra {
		if snake(h) == "save_to" {
			saveTo = strings.TrimSpace(val)
		}
	}
	if saveTo == "" {
		return
	}
	e := c.ent
	if e == nil || len(e.decls) == 0 {
		c.problem(sheet, row, "save_to needs an entities sheet declaring the entity list")
		return
	}
	list, prop := "", saveTo
	switch strings.Count(saveTo, "#") {
	case 0:
		if len(e.decls) > 1 {
			c.problem(sheet, row, "save_to '%s' must name its entity list as LIST#PROPERTY, since the entities sheet declares more than one", saveTo)
			return
		}
		list = e.decls[0].name
	case 1:
		list, prop, _ = strings.Cut(saveTo, "#")
	default:
		c.problem(sheet, row, "save_to '%s' may hold at most one '#' (LIST#PROPERTY)", saveTo)
		return
	}
	d := e.byName[list]
	if d == nil {
		c.problem(sheet, row, "save_to '%s' names entity list '%s', which the entities sheet does not declare", saveTo, list)
		return
	}
	refs := e.refsOf(d)
	switch {
	case container:
		c.problem(sheet, row, "save_to on a group or repeat row: only questions can be saved as entity properties")
		return
	case strings.EqualFold(prop, "name") || strings.EqualFold(prop, "label"):
		c.problem(sheet, row, "save_to property '%s' is reserved (name and label)", prop)
		return
	case strings.HasPrefix(prop, "__"):
		c.problem(sheet, row, "save_to property '%s' must not begin with two underscores", prop)
		return
	case !validName(prop):
		c.problem(sheet, row, "invalid save_to property '%s': names must begin with a letter or underscore, followed by letters, digits, underscores, hyphens or periods", prop)
		return
	}
	for _, r := range refs.refs {
		if r.property == prop {
			c.problem(sheet, row, "save_to property '%s' is already saved by row %d", prop, r.row)
			return
		}
	}
	refs.refs = append(refs.refs, entityRef{path: scope, row: row, property: prop})
}

// entityVariable records a question named in an entity's expressions.
func (c *compiler) entityVariable(row int, name string, scope containerPath) {
	if c.ent == nil {
		return
	}
	for _, list := range c.ent.varRef[name] {
		refs := c.ent.refsOf(c.ent.byName[list])
		refs.refs = append(refs.refs, entityRef{path: scope, row: row, question: name})
	}
}

// allocation is where one entity asks to live.
type allocation struct {
	scope     containerPath
	decl      *entityDecl
	requested containerPath
	lineages  []containerPath // containers of its save_to rows
}

// checkEntities allocates every entity to a container, refusing what
// pyxform refuses: references from incompatible repeats, and more entities
// than containers in a scope.
func (c *compiler) checkEntities() {
	e := c.ent
	if e == nil || len(e.decls) == 0 {
		return
	}
	byScope := map[string][]*allocation{}
	var scopeOrder []string
	add := func(a *allocation) {
		k := a.scope.key()
		if _, ok := byScope[k]; !ok {
			scopeOrder = append(scopeOrder, k)
		}
		byScope[k] = append(byScope[k], a)
	}
	for _, name := range e.order {
		if len(e.refs[name].refs) == 0 {
			// Only refused save_to rows: reported already.
			delete(e.refs, name)
			continue
		}
		a, ok := c.entityRequest(e.refs[name])
		if !ok {
			return // the incompatible reference is reported
		}
		add(a)
	}
	for _, d := range e.decls {
		if _, ok := e.refs[d.name]; !ok {
			add(&allocation{scope: surveyScope(), decl: d, requested: surveyScope()})
		}
	}
	if len(scopeOrder) == 1 && scopeOrder[0] == surveyScope().key() && len(byScope[scopeOrder[0]]) == 1 {
		return
	}
	allocated := map[string]*entityDecl{}
	reserved := map[string]*entityDecl{}
	for _, k := range scopeOrder {
		reqs := byScope[k]
		sort.SliceStable(reqs, func(i, j int) bool { return reqs[i].decl.row < reqs[j].decl.row })
		limit := len(reqs[0].scope) - 1
		for _, a := range reqs {
			if conflict := allocate(a, limit, allocated, reserved); conflict != nil {
				c.problem(e.sheet, a.decl.row, "entity list '%s' has no container left in '%s': each survey, group or repeat holds one entity, and this one is taken by the entity of row %d; move the questions it references or saves into their own group", a.decl.name, a.scope, conflict.row)
				return
			}
		}
	}
}

// entityRequest finds the container an entity asks for, checking that all
// its references can share one copy of it.
func (c *compiler) entityRequest(er *entityRefs) (*allocation, bool) {
	var (
		scope          containerPath // deepest repeat boundary seen
		scopeRepeats   = -1
		scopeRef       entityRef
		containerRef   *entityRef
		containerDepth int
		saveRef        *entityRef
		saveDepth      int
		lineageKeys    = map[string]bool{}
		lineages       []containerPath
		boundaries     []containerPath
		refsInOrder    []entityRef
	)
	for i := range er.refs {
		ref := er.refs[i]
		sub := ref.path.groupsBelowBoundary()
		b := ref.path.boundary()
		if scope == nil || b.repeats() > scopeRepeats {
			if !(scope != nil && b.equal(scope)) {
				containerRef, containerDepth = &er.refs[i], sub
				if ref.property != "" {
					saveRef, saveDepth = &er.refs[i], sub
				}
			}
			scope, scopeRepeats, scopeRef = b, b.repeats(), ref
		}
		boundaries = append(boundaries, b)
		refsInOrder = append(refsInOrder, ref)
		if containerRef == nil || b.equal(scope) && sub > containerDepth {
			containerRef, containerDepth = &er.refs[i], sub
		}
		if ref.property != "" {
			if k := ref.path.key(); !lineageKeys[k] {
				lineageKeys[k] = true
				lineages = append(lineages, ref.path)
			}
			if saveRef == nil || b.equal(scope) && sub > saveDepth {
				saveRef, saveDepth = &er.refs[i], sub
			}
		}
	}
	requested := containerRef.path
	if saveRef != nil {
		requested = saveRef.path
	}
	if len(lineages) > 0 {
		common := commonPath(lineages)
		if len(lineages) > 1 {
			requested = deeper(saveRef.path.boundary(), common)
		} else {
			requested = common
		}
	}
	reqBoundary := requested.boundary()
	for i, ref := range refsInOrder {
		b := boundaries[i]
		if len(b) > len(scope) || !scope[:len(b)].equal(b) {
			if ref.property != "" {
				c.problem("survey", ref.row, "save_to for entity list '%s' is in '%s', which cannot share an entity with its reference in '%s' (a different repeat); copy the value into one repeat with a calculate", er.decl.name, ref.path, scopeRef.path)
			} else {
				c.problem(c.ent.sheet, er.decl.row, "entity list '%s' refers to ${%s} in '%s', which cannot share an entity with its reference in '%s' (a different repeat); copy the value into one repeat with a calculate", er.decl.name, ref.question, ref.path, scopeRef.path)
			}
			return nil, false
		}
		if ref.property != "" && !reqBoundary.equal(b) {
			c.problem("survey", ref.row, "save_to for entity list '%s' is in '%s', outside the entity's container '%s'; copy the value into that repeat with a calculate", er.decl.name, ref.path, requested)
			return nil, false
		}
	}
	return &allocation{scope: scope, decl: er.decl, requested: requested, lineages: lineages}, true
}

func commonPath(paths []containerPath) containerPath {
	n := len(paths[0])
	for _, p := range paths[1:] {
		n = min(n, len(p))
	}
	first := paths[0]
	if len(paths) == 1 {
		return first[:n]
	}
	for i := 0; i < n; i++ {
		for _, p := range paths {
			if p[i] != first[i] {
				return first[:i]
			}
		}
	}
	return first[:n]
}

func deeper(a, b containerPath) containerPath {
	ar, br := a.repeats(), b.repeats()
	if ar > br || ar == br && a.groupsBelowBoundary() >= b.groupsBelowBoundary() {
		return a
	}
	return b
}

// allocate places one entity in the deepest free container on its
// requested path within its scope, or returns the entity in the way.
func allocate(a *allocation, limit int, allocated, reserved map[string]*entityDecl) *entityDecl {
	lineageConflict := func() *entityDecl {
		for _, l := range a.lineages {
			if d := reserved[l.key()]; d != nil {
				return d
			}
		}
		return nil
	}
	for depth := len(a.requested); depth > limit; depth-- {
		cur := a.requested[:depth]
		k := cur.key()
		existing := allocated[k]
		if existing == nil {
			existing = reserved[k]
		}
		if existing != nil {
			if d := lineageConflict(); d != nil {
				return d
			}
			continue
		}
		allocated[k] = a.decl
		reserved[k] = a.decl
		for _, l := range a.lineages {
			for i := len(l); i > len(cur)-1; i-- {
				reserved[l[:i].key()] = a.decl
			}
		}
		return nil
	}
	k := a.requested[:min(len(a.requested), limit+1)].key()
	if d := allocated[k]; d != nil {
		return d
	}
	return reserved[k]
}
