package form

import (
	"fmt"
	"math/big"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Compile turns a workbook into a Form following the XLSForm specification
// and pyxform's behaviour. fallbackID is the form id used when the settings
// sheet names none (Parse passes the file name without its extension). Every
// problem found is returned in one *Error; a form with any problem is
// refused whole.
func Compile(wb *Workbook, fallbackID string) (*Form, error) {
	c := newCompiler(wb)
	f := c.compile(fallbackID)
	if len(c.problems) > 0 {
		return nil, &Error{Problems: c.sortedProblems()}
	}
	return f, nil
}

type compiler struct {
	wb       *Workbook
	problems []Problem
	langs    []string
	langSeen map[string]bool

	settings      map[string]string // normalised key → value
	cleanText     bool
	allowChoiceDu bool

	choices      map[string][]Choice
	choiceSheet  string
	listRows     map[string]int  // list name → first row, even for lists whose rows were refused
	externalList map[string]bool // lists of the external_choices sheet

	names       map[string]int // every element name → its first row (-1: built in), for ${references}
	nameCount   map[string]int // how many elements carry each name (a loop repeats its body per choice)
	fieldNames  map[string]int // names of answer-holding questions → row: responses are keyed by them
	repeatNames map[string]int // repeat name → row: unique anywhere, as pyxform requires
	rootName    string         // the form's root element: settings name, else the file name
	hidden      map[string]bool
	triggers    []triggerUse
	geoRefs     []geoRef
	repeatsSeen map[string]bool
	fileStems   map[string]bool // secondary instances named after attached files
	instances   map[string]instanceUse
	searchUse   map[string]searchSelect // choice list → how selects using it call search()
	ent         *entities
	exprs       map[string]*exprResult
	refs        []refUse
	unsupported []string
	unsupSeen   map[string]bool
	multiChecks map[string]bool // choice lists already checked for names with spaces
}

// refUse is one cell that may hold ${name} references, checked once every
// name is known.
type refUse struct {
	sheet, column string
	row           int
	value         string
}

func newCompiler(wb *Workbook) *compiler {
	return &compiler{
		wb:           wb,
		langSeen:     make(map[string]bool),
		settings:     make(map[string]string),
		cleanText:    true,
		choices:      make(map[string][]Choice),
		listRows:     make(map[string]int),
		externalList: make(map[string]bool),
		names:        make(map[string]int),
		nameCount:    make(map[string]int),
		fieldNames:   make(map[string]int),
		repeatNames:  make(map[string]int),
		hidden:       make(map[string]bool),
		repeatsSeen:  make(map[string]bool),
		fileStems:    make(map[string]bool),
		instances:    make(map[string]instanceUse),
		searchUse:    make(map[string]searchSelect),
		exprs:        make(map[string]*exprResult),
		unsupSeen:    make(map[string]bool),
		multiChecks:  make(map[string]bool),
	}
}

func (c *compiler) problem(sheet string, row int, format string, args ...any) {
	c.problems = append(c.problems, Problem{Sheet: sheet, Row: row, Message: fmt.Sprintf(format, args...)})
}

func (c *compiler) language(lang string) {
	if !c.langSeen[lang] {
		c.langSeen[lang] = true
		c.langs = append(c.langs, lang)
	}
}

func (c *compiler) markUnsupported(what string) {
	if what != "" && !c.unsupSeen[what] {
		c.unsupSeen[what] = true
		c.unsupported = append(c.unsupported, what)
	}
}

// sortedProblems orders problems as the sheets are ordered in the file, then
// by row, so the list reads top to bottom like the workbook.
func (c *compiler) sortedProblems() []Problem {
	rank := func(sheet string) int {
		key := strings.ToLower(sheet)
		for i, k := range c.wb.Order {
			if k == key {
				return i
			}
		}
		return -1
	}
	out := append([]Problem(nil), c.problems...)
	sort.SliceStable(out, func(i, j int) bool {
		ri, rj := rank(out[i].Sheet), rank(out[j].Sheet)
		if ri != rj {
			return ri < rj
		}
		return out[i].Row < out[j].Row
	})
	return out
}

func (c *compiler) compile(fallbackID string) *Form {
	f := &Form{
		Settings:  make(map[string]string),
		Survey:    []*Question{},
		Choices:   c.choices,
		Checks:    []Check{},
		Languages: []string{},
	}
	c.readSettings(f)
	// pyxform adds meta/instanceID (and meta/instanceName when settings
	// name one); expressions may refer to them.
	if omit, _ := truth(c.settings["omit_instanceid"]); !omit {
		c.names["instanceID"] = -1
	}
	if c.settings["instance_name"] != "" {
		c.names["instanceName"] = -1
	}
	c.rootName = c.settings["name"]
	if c.rootName == "" {
		c.rootName = fallbackID
	}
	if c.rootName == "" {
		c.rootName = "data"
	}
	c.readExternalChoices()
	c.readChoices()
	c.readEntities()

	survey := c.wb.Sheet("survey")
	if survey == nil && len(c.wb.Order) == 1 {
		// pyxform reads a workbook of one sheet as the survey, whatever its
		// name ("Sheet1" of a fresh Excel file).
		survey = c.wb.Sheets[c.wb.Order[0]]
	}
	if survey == nil {
		msg := "the workbook has no 'survey' sheet"
		if similar := c.similarSheet("survey"); similar != "" {
			msg += fmt.Sprintf(" (found '%s': rename it 'survey')", similar)
		}
		c.problem("", 0, "%s", msg)
	} else {
		f.Survey = c.readSurvey(survey)
	}
	f.Checks = c.readChecks()
	c.checkReferences()
	c.checkTriggers()
	c.checkGeoRefs()
	c.checkEntities()
	c.checkSearch()
	c.checkInstances()
	c.parseExpressions(f)

	f.ID = c.settings["form_id"]
	if f.ID == "" {
		f.ID = fallbackID
	}
	if f.ID == "" {
		f.ID = "data"
	}
	f.Version = c.settings["version"]
	f.Title = c.settings["form_title"]
	if f.Title == "" {
		f.Title = f.ID
	}
	f.DefaultLanguage = c.settings["default_language"]
	f.Languages = append(f.Languages, c.langs...)
	f.Unsupported = c.unsupported
	return f
}

// similarSheet finds a sheet whose name looks like a misspelling of want.
func (c *compiler) similarSheet(want string) string {
	for _, key := range c.wb.Order {
		if key == want {
			continue
		}
		if editDistance(key, want) <= 2 || strings.HasPrefix(key, want) || strings.HasPrefix(want, key) && len(key) >= 4 {
			return c.wb.Sheets[key].Name
		}
	}
	return ""
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}

// settingKeys maps normalised settings headers to the keys compile reads.
var settingKeys = map[string]string{
	"form_id": "form_id", "id_string": "form_id", "set_form_id": "form_id",
	"form_title": "form_title", "title": "form_title", "set_form_title": "form_title",
	"version": "version", "default_language": "default_language",
	"allow_choice_duplicates": "allow_choice_duplicates", "clean_text_values": "clean_text_values",
	"instance_name": "instance_name", "omit_instanceid": "omit_instanceid", "name": "name",
}

// readSettings reads the first data row of the settings sheet, as pyxform
// does. Every column goes into Form.Settings as written.
func (c *compiler) readSettings(f *Form) {
	s := c.wb.Sheet("settings")
	if s == nil || len(s.Rows) == 0 {
		return
	}
	r := s.Rows[0]
	f.settingsSheet, f.settingsRow = s.Name, r.Num
	for _, h := range s.Header {
		v := r.Cells[h]
		if h == "" || v == "" {
			continue
		}
		f.Settings[h] = v
		key := snake(h)
		if k, ok := settingKeys[key]; ok {
			key = k
		}
		if _, dup := c.settings[key]; !dup {
			c.settings[key] = v
		}
	}
	if v, ok := c.settings["clean_text_values"]; ok {
		b, isBool := truth(v)
		c.cleanText = b || !isBool
	}
	if v, ok := c.settings["allow_choice_duplicates"]; ok {
		c.allowChoiceDu, _ = truth(v)
	}
	if v := c.settings["instance_name"]; v != "" {
		c.refs = append(c.refs, refUse{sheet: s.Name, row: r.Num, column: "instance_name", value: v})
	}
	if v := c.settings["name"]; v != "" && !validName(v) {
		c.problem(s.Name, r.Num, "invalid name '%s': names must begin with a letter or underscore, followed by letters, digits, underscores, hyphens or periods", v)
	}
	if v := c.settings["form_id"]; v != "" && strings.ContainsAny(v, "/\\") {
		c.problem(s.Name, r.Num, "form_id '%s' must not contain a slash: it names the form in web addresses and file names", v)
	}
}

// truth reads a yes/no cell as pyxform does (yes, true, TRUE, true(), and
// 1 as Excel writes a ticked boolean). isBool is false for anything else,
// which for required or read_only is an expression.
func truth(v string) (value, isBool bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "yes", "true", "true()", "1":
		return true, true
	case "no", "false", "false()", "0", "":
		return false, true
	}
	return false, false
}

func (c *compiler) readExternalChoices() {
	s := c.wb.Sheet("external_choices")
	if s == nil {
		return
	}
	cols := c.readColumns(s, choicesColumns, choicesAliases)
	for _, r := range s.Rows {
		if l := readCells(r, cols, nil).get("list_name"); l != "" {
			c.externalList[l] = true
		}
	}
}

// readChoices reads the choices sheet into lists. A list whose rows were
// refused still counts as existing, so that its selects are not reported a
// second time as naming an unknown list.
func (c *compiler) readChoices() {
	s := c.wb.Sheet("choices")
	if s == nil {
		return
	}
	c.choiceSheet = s.Name
	cols := c.readColumns(s, choicesColumns, choicesAliases)
	if len(s.Rows) > 0 {
		missing := false
		for _, need := range []string{"list_name", "name"} {
			if !hasColumn(cols, need) {
				c.problem(s.Name, 1, "the choices sheet has no '%s' column", need)
				missing = true
			}
		}
		if missing {
			return
		}
	}
	seen := make(map[string]map[string]int) // list → choice name → row
	for _, r := range s.Rows {
		v := readCells(r, cols, cleanQuotesIn(nil))
		if v.empty() {
			continue
		}
		list, name := v.get("list_name"), v.get("name")
		if list == "" {
			if name == "" && len(v.textOf("label")) == 0 {
				continue // a row of notes in extra columns
			}
			c.problem(s.Name, r.Num, "choice '%s' has no list_name", name)
			continue
		}
		if _, ok := c.listRows[list]; !ok {
			c.listRows[list] = r.Num
			c.choices[list] = []Choice{}
		}
		if name == "" {
			c.problem(s.Name, r.Num, "choice in list '%s' has no name", list)
			continue
		}
		if seen[list] == nil {
			seen[list] = make(map[string]int)
		}
		if first, dup := seen[list][name]; dup && !c.allowChoiceDu {
			c.problem(s.Name, r.Num, "duplicate choice name '%s' in list '%s' (first at row %d); set allow_choice_duplicates in settings if this is intended", name, list, first)
			continue
		} else if !dup {
			seen[list][name] = r.Num
		}
		ch := Choice{Name: name, Label: v.textOf("label"), Row: r.Num, Extra: v.extra}
		c.choices[list] = append(c.choices[list], ch)
		if lbl := v.textOf("label"); lbl != nil {
			for lang, t := range lbl {
				c.refs = append(c.refs, refUse{sheet: s.Name, row: r.Num, column: headerFor("label", lang), value: t})
			}
		}
		for _, col := range cols {
			// Media may name the file through an answer: ${photo_name}.
			if mediaColumns[col.base] && r.Cells[col.header] != "" {
				c.refs = append(c.refs, refUse{sheet: s.Name, row: r.Num, column: col.header, value: r.Cells[col.header]})
			}
		}
	}
}

func headerFor(base, lang string) string {
	if lang == "" {
		return base
	}
	return base + "::" + lang
}

// expressionColumns are the survey columns holding XPath, where Excel's and
// WPS's automatic “smart quotes” would break string literals. Labels and
// hints keep their typography: Chinese text uses “” on purpose.
var expressionColumns = set("relevant", "constraint", "calculation", "choice_filter", "required",
	"default", "read_only", "expression")

var smartQuotes = strings.NewReplacer("\u2018", "'", "\u2019", "'", "\u201c", `"`, "\u201d", `"`)

// cleanQuotesIn returns the cell cleaner of a sheet: smart quotes in
// expressions, and then more (may be nil).
func cleanQuotesIn(more func(string) string) func(base, v string) string {
	return func(base, v string) string {
		if expressionColumns[base] {
			v = smartQuotes.Replace(v)
		}
		if more != nil {
			v = more(v)
		}
		return v
	}
}

// squeezeSpaces replaces runs of spaces by one, as pyxform's
// clean_text_values does on the survey sheet; line breaks are kept.
func squeezeSpaces(v string) string {
	if !strings.Contains(v, "  ") {
		return v
	}
	var b strings.Builder
	prevSpace := false
	for _, r := range v {
		if r == ' ' {
			if prevSpace {
				continue
			}
			prevSpace = true
		} else {
			prevSpace = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// frame is one open group or repeat while reading the survey sheet.
type frame struct {
	q        *Question // nil for the survey itself
	children *[]*Question
	siblings map[string]int // names of children → row
	row      int
	control  string // group, repeat or loop
	path     string
	class    string // classification inherited by children
	multi    int    // copies of its body in the form: a begin_loop repeats it per choice
	scope    containerPath
}

// referenceColumns are survey columns whose ${name} references must name a
// question. Others (type, name, appearance, parameters) are left alone.
var referenceColumns = set("label", "hint", "guidance_hint", "required_message", "constraint_message",
	"relevant", "constraint", "calculation", "choice_filter", "required", "default", "read_only")

// referenceExtras are survey columns kept in Extra that still hold references.
var referenceExtras = set("trigger", "repeat_count", "jr:count", "count")

func (c *compiler) readSurvey(s *Sheet) []*Question {
	cols := c.readColumns(s, surveyColumns, surveyAliases)
	if !hasColumn(cols, "type") {
		c.problem(s.Name, 1, "the survey sheet has no 'type' column")
		return []*Question{}
	}
	var more func(string) string
	if c.cleanText {
		more = squeezeSpaces
	}
	clean := cleanQuotesIn(more)

	var top []*Question
	root := &frame{children: &top, siblings: make(map[string]int), multi: 1, scope: surveyScope()}
	stack := []*frame{root}
	for _, r := range s.Rows {
		v := readCells(r, cols, clean)
		if v.empty() {
			continue
		}
		cur := stack[len(stack)-1]
		typ := v.get("type")
		name := v.get("name")
		if typ == "" {
			if name == "" && len(v.textOf("label")) == 0 {
				continue // a comment row: pyxform skips it with a warning
			}
			c.problem(s.Name, r.Num, "row has no type")
			continue
		}
		pt, msg := parseType(typ)
		if msg != "" {
			c.problem(s.Name, r.Num, "%s", msg)
			continue
		}
		if pt.end {
			c.entitySaveTo(s.Name, r.Num, v, cur.scope, true)
			if len(stack) == 1 || cur.control != pt.base {
				label := name
				if label == "" {
					label = "unknown"
				}
				c.problem(s.Name, r.Num, "unmatched end_%s '%s': no begin_%s is open here", pt.base, label, pt.base)
				continue
			}
			stack = stack[:len(stack)-1]
			continue
		}

		// Names.
		switch {
		case pt.base == "audit":
			if name != "" && name != "audit" {
				c.problem(s.Name, r.Num, "an audit must be named 'audit'; leave its name empty")
			}
			name = "audit"
		case name == "" && pt.base == "note":
			name = "generated_note_name_" + strconv.Itoa(r.Num)
		case name == "":
			c.problem(s.Name, r.Num, "%s has no name", describeType(pt))
		case !validName(name):
			c.problem(s.Name, r.Num, "invalid name '%s': names must begin with a letter or underscore, followed by letters, digits, underscores, hyphens or periods", name)
			name = ""
		}
		if name != "" {
			field := !pt.begin && (&Question{Type: pt.base}).HoldsAnswer()
			c.claimName(s.Name, r.Num, name, cur, field)
			c.checkReservedName(s.Name, r.Num, name, pt)
			if pt.begin && pt.base != "group" {
				c.claimRepeat(s.Name, r.Num, name, cur)
			}
		}
		c.entitySaveTo(s.Name, r.Num, v, cur.scope, pt.begin)
		if name != "" && !pt.begin {
			c.entityVariable(r.Num, name, cur.scope)
		}

		q := &Question{
			Name:              name,
			Path:              joinPath(cur.path, name),
			Label:             v.textOf("label"),
			Hint:              v.textOf("hint"),
			Guidance:          v.textOf("guidance_hint"),
			RequiredMessage:   v.textOf("required_message"),
			Relevant:          v.get("relevant"),
			Constraint:        v.get("constraint"),
			ConstraintMessage: v.textOf("constraint_message"),
			Calculation:       v.get("calculation"),
			Default:           v.get("default"),
			ChoiceFilter:      v.get("choice_filter"),
			Appearance:        v.get("appearance"),
			Parameters:        v.get("parameters"),
			Row:               r.Num,
			Extra:             v.extra,
		}
		if req := v.get("required"); req != "" {
			if b, isBool := truth(req); isBool {
				q.Required = b
			} else {
				q.RequiredIf = req
			}
		}
		if ro := v.get("read_only"); ro != "" {
			if b, isBool := truth(ro); isBool {
				q.ReadOnly = b
			} else {
				if q.Extra == nil {
					q.Extra = make(map[string]string)
				}
				q.Extra["read_only"] = ro
			}
		}
		q.Classification = c.classification(s.Name, r.Num, v.get("classification"), cur.class)
		c.collectRefs(s.Name, r, cols)

		if pt.begin {
			q.Type = pt.base
			if pt.base == "loop" {
				q.Type = "repeat"
				q.ListName = pt.list
				c.markUnsupported("loop")
				if pt.list == "" {
					c.problem(s.Name, r.Num, "begin_loop needs a choice list: 'begin_loop over LIST'")
				} else if _, ok := c.listRows[pt.list]; !ok {
					c.problem(s.Name, r.Num, "unknown choice list '%s'", pt.list)
				}
			}
			c.markUnsupported(unsupportedType(q))
			*cur.children = append(*cur.children, q)
			multi := cur.multi
			if pt.base == "loop" {
				multi *= max(1, len(c.choices[pt.list]))
			}
			if pt.base != "group" {
				c.repeatCount(s.Name, r.Num, q, cur)
			}
			kind := "group"
			if pt.base != "group" {
				kind = "repeat"
			}
			stack = append(stack, &frame{
				q: q, children: &q.Children, siblings: make(map[string]int),
				row: r.Num, control: pt.base, path: q.Path, class: q.Classification,
				multi: multi, scope: cur.scope.child(name, kind),
			})
			continue
		}

		q.Type = pt.base
		q.ListName = pt.list
		q.OrOther = pt.orOther
		if q.Classification == "" {
			switch {
			case identifyingType(q.Type):
				q.Classification = "personal"
			case q.HoldsAnswer():
				q.Classification = "internal"
			}
		}
		c.checkExtras(s.Name, r, cols)
		if len(q.Label) == 0 && len(q.Hint) == 0 && !hasMedia(cols, r) && !labelOptional(q.Type) && q.Calculation == "" && !hasExtra(q, "trigger") {
			c.problem(s.Name, r.Num, "%s '%s' has no label or hint", q.Type, q.Name)
		}
		c.checkQuestion(s.Name, r.Num, q, pt)
		c.questionRules(s.Name, r.Num, q, v)
		c.markUnsupported(unsupportedType(q))
		*cur.children = append(*cur.children, q)
		if q.OrOther && q.Name != "" {
			other := c.specifyOther(s.Name, r.Num, q, cur)
			if other != nil {
				*cur.children = append(*cur.children, other)
			}
		}
	}
	for _, fr := range stack[1:] {
		c.problem(s.Name, fr.row, "unclosed begin_%s '%s': no matching end_%s", fr.control, fr.q.Name, fr.control)
	}
	if top == nil {
		top = []*Question{}
	}
	return top
}

// reTrigger is a list of ${references}; pyxform requires a comma between
// two of them ("${a}${b}" is refused) and tolerates stray commas and spaces.
var reTrigger = regexp.MustCompile(`^\$\{[^}]+\}(?:[ ]*,[ ,]*\$\{[^}]+\})*[ ,]*$`)

// checkExtras applies the few rules on columns govsurvey keeps as written:
// a trigger is only ${references}, and big-image needs an image.
func (c *compiler) checkExtras(sheet string, r Row, cols []column) {
	for _, col := range cols {
		v := r.Cells[col.header]
		if v == "" {
			continue
		}
		if col.base == "" && snake(col.header) == "trigger" && !reTrigger.MatchString(v) {
			c.problem(sheet, r.Num, "trigger must be ${name} references, not '%s'", v)
		}
		if col.base == "big-image" {
			hasImage := false
			for _, other := range cols {
				if other.base == "image" && other.lang == col.lang && r.Cells[other.header] != "" {
					hasImage = true
				}
			}
			if !hasImage {
				c.problem(sheet, r.Num, "big-image needs an image in the same row")
			}
		}
	}
}

func hasExtra(q *Question, column string) bool {
	for h := range q.Extra {
		if snake(h) == column {
			return true
		}
	}
	return false
}

func hasMedia(cols []column, r Row) bool {
	for _, col := range cols {
		if mediaColumns[col.base] && r.Cells[col.header] != "" {
			return true
		}
	}
	return false
}

func describeType(pt parsedType) string {
	if pt.begin {
		return "begin_" + pt.base
	}
	return "question of type " + pt.base
}

func joinPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "/" + name
}

// claimName records an element name. pyxform refuses a name twice in the
// same group; govsurvey also refuses a field name (a question holding an
// answer) used twice anywhere in the form, because a response holds one
// column per field name. Groups and repeats are not fields; repeat names
// are checked by claimRepeat.
func (c *compiler) claimName(sheet string, row int, name string, cur *frame, field bool) {
	if first, dup := cur.siblings[name]; dup {
		c.problem(sheet, row, "duplicate name '%s' in the same group (first at row %d)", name, first)
		return
	}
	cur.siblings[name] = row
	c.nameCount[name] += max(1, cur.multi)
	if first, ok := c.names[name]; !ok || first < 0 {
		// The first use, or a question of its own taking a built-in meta name.
		c.names[name] = row
	}
	if !field {
		return
	}
	if first, dup := c.fieldNames[name]; dup {
		c.problem(sheet, row, "field name '%s' is already used at row %d; field names must be unique in the whole form, since a response has one column per name", name, first)
		return
	}
	c.fieldNames[name] = row
}

// validName reports an XML name as XLSForm requires for name: a letter or
// underscore, then letters, digits, underscores, hyphens or periods.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || unicode.IsLetter(r):
		case i > 0 && (r == '-' || r == '.' || unicode.IsDigit(r) || unicode.In(r, unicode.Mn, unicode.Mc, unicode.Nd)):
		default:
			return false
		}
	}
	return true
}

var classifications = set("public", "internal", "personal", "sensitive")

// classification reads the classification cell, defaulting to the
// enclosing group's.
func (c *compiler) classification(sheet string, row int, v, inherited string) string {
	if v == "" {
		return inherited
	}
	l := strings.ToLower(strings.TrimSpace(v))
	if !classifications[l] {
		c.problem(sheet, row, "invalid classification '%s': use public, internal, personal or sensitive", v)
		return inherited
	}
	return l
}

func (c *compiler) collectRefs(sheet string, r Row, cols []column) {
	for _, col := range cols {
		val := r.Cells[col.header]
		if val == "" {
			continue
		}
		if referenceColumns[col.base] || col.base == "" && referenceExtras[snake(col.header)] {
			c.refs = append(c.refs, refUse{sheet: sheet, row: r.Num, column: col.header, value: val})
		}
	}
}

// checkQuestion applies the rules of one question's type.
func (c *compiler) checkQuestion(sheet string, row int, q *Question, pt parsedType) {
	switch q.Type {
	case "select_one", "select_multiple", "rank":
		if strings.Contains(q.ListName, "${") {
			// A select from a previous question's answers: the list is a reference.
			c.refs = append(c.refs, refUse{sheet: sheet, row: row, column: "type", value: q.ListName})
			break
		}
		c.checkList(sheet, row, q)
	case "select_one_from_file", "select_multiple_from_file":
		switch strings.ToLower(path.Ext(q.ListName)) {
		case ".csv", ".xml", ".geojson":
		default:
			c.problem(sheet, row, "file name '%s' of %s must end with .csv, .xml or .geojson", q.ListName, q.Type)
		}
	case "select_one_external":
		if !c.externalList[q.ListName] {
			c.problem(sheet, row, "list '%s' is not in the external_choices sheet", q.ListName)
		}
	case "calculate":
		// pyxform accepts a calculate without calculation only when its
		// default is an expression (evaluated once when the form opens).
		if q.Calculation == "" && !defaultIsDynamic(q.Default, q.Type) {
			c.problem(sheet, row, "calculate '%s' has no calculation", q.Name)
		}
	}
	if q.OrOther && q.ChoiceFilter != "" {
		c.problem(sheet, row, "or_other cannot be used with a choice_filter")
	}
	c.checkParameters(sheet, row, q)
}

func (c *compiler) checkList(sheet string, row int, q *Question) {
	list, ok := c.choices[q.ListName]
	if !ok {
		if c.choiceSheet == "" {
			msg := "the workbook has no choices sheet"
			if similar := c.similarSheet("choices"); similar != "" {
				msg = fmt.Sprintf("the workbook has no choices sheet; is '%s' meant to be it?", similar)
			}
			c.problem(sheet, row, "unknown choice list '%s' (%s)", q.ListName, msg)
		} else {
			c.problem(sheet, row, "unknown choice list '%s'", q.ListName)
		}
		return
	}
	if len(list) == 0 {
		c.problem(sheet, row, "choice list '%s' has no usable choices", q.ListName)
		return
	}
	if q.Type == "select_multiple" && !c.multiChecks[q.ListName] {
		// Answers hold chosen names separated by spaces.
		c.multiChecks[q.ListName] = true
		for _, ch := range list {
			if strings.ContainsAny(ch.Name, " \t\n") {
				c.problem(c.choiceSheet, ch.Row, "choice name '%s' in list '%s' has a space, which select_multiple '%s' cannot store", ch.Name, q.ListName, q.Name)
			}
		}
	}
}

// specifyOther does what pyxform does for "select_one LIST or_other": the
// list gains an "other" choice and the form a text question NAME_other shown
// when it is chosen.
func (c *compiler) specifyOther(sheet string, row int, q *Question, cur *frame) *Question {
	list, ok := c.choices[q.ListName]
	if !ok {
		return nil
	}
	if _, has := c.choiceIn(list, "other"); !has {
		label := Text{"": "Other"}
		if len(list) > 0 && len(list[0].Label) > 0 {
			label = Text{}
			for lang := range list[0].Label {
				label[lang] = "Other"
			}
		}
		c.choices[q.ListName] = append(list, Choice{Name: "other", Label: label})
	}
	name := q.Name + "_other"
	c.claimName(sheet, row, name, cur, true)
	return &Question{
		Type:           "text",
		Name:           name,
		Path:           joinPath(cur.path, name),
		Label:          Text{"": "Specify other."},
		Relevant:       "selected(${" + q.Name + "}, 'other')",
		Classification: q.Classification,
		Row:            row,
	}
}

func (c *compiler) choiceIn(list []Choice, name string) (Choice, bool) {
	for _, ch := range list {
		if ch.Name == name {
			return ch, true
		}
	}
	return Choice{}, false
}

// parameterKeys lists the parameters pyxform accepts per type; types not
// listed are not checked.
var parameterKeys = map[string][]string{
	"range":                     {"start", "end", "step", "tick_interval", "placeholder", "tick_labelset"},
	"select_one":                {"randomize", "seed"},
	"select_multiple":           {"randomize", "seed"},
	"select_one_external":       {"randomize", "seed"},
	"rank":                      {"randomize", "seed"},
	"select_one_from_file":      {"randomize", "seed", "value", "label"},
	"select_multiple_from_file": {"randomize", "seed", "value", "label"},
	"text":                      {"rows"},
	"image":                     {"max-pixels", "app"},
	"audio":                     {"quality"},
	"background-audio":          {"quality"},
	"geopoint":                  {"allow-mock-accuracy", "capture-accuracy", "warning-accuracy", "reference-geometry"},
	"geotrace":                  {"allow-mock-accuracy", "incremental", "reference-geometry"},
	"geoshape":                  {"allow-mock-accuracy", "incremental", "reference-geometry"},
	"audit":                     {"location-priority", "location-min-interval", "location-max-age", "track-changes", "identify-user", "track-changes-reasons"},
}

// parseParameters reads "key=value key=value" (or ; or , separated), as
// pyxform does; keys are lower-cased.
func parseParameters(raw string) (map[string]string, bool) {
	parts := strings.Split(raw, ";")
	if len(parts) == 1 {
		parts = strings.Split(raw, ",")
	}
	if len(parts) == 1 {
		parts = strings.Fields(raw)
	}
	out := make(map[string]string)
	for _, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return nil, false
		}
		if i := strings.IndexByte(v, '='); i >= 0 {
			v = v[:i]
		}
		key := strings.ToLower(strings.TrimSpace(k))
		if key == "label" || key == "value" {
			out[key] = strings.TrimSpace(v)
		} else {
			out[key] = strings.ToLower(strings.TrimSpace(v))
		}
	}
	return out, true
}

func (c *compiler) checkParameters(sheet string, row int, q *Question) {
	allowed, checked := parameterKeys[q.Type]
	if q.Parameters == "" || !checked {
		return
	}
	params, ok := parseParameters(q.Parameters)
	if !ok {
		c.problem(sheet, row, "parameters must look like 'key1=value1 key2=value2'")
		return
	}
	var bad []string
	for k := range params {
		if !contains(allowed, k) {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		c.problem(sheet, row, "invalid parameters %s for %s; accepted: %s", quoteList(bad), q.Type, strings.Join(allowed, ", "))
		return
	}
	num := func(k string) (float64, bool) {
		v, ok := params[k]
		if !ok {
			return 0, true
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			c.problem(sheet, row, "parameter %s must be a number, not '%s'", k, v)
			return 0, false
		}
		return x, true
	}
	integer := func(k string) {
		if v, ok := params[k]; ok {
			if _, err := strconv.Atoi(v); err != nil {
				c.problem(sheet, row, "parameter %s must be an integer, not '%s'", k, v)
			}
		}
	}
	switch q.Type {
	case "range":
		c.checkRange(sheet, row, q, params)
	case "select_one", "select_multiple", "rank", "select_one_from_file", "select_multiple_from_file":
		r, hasR := params["randomize"]
		if hasR && r != "true" && r != "false" {
			c.problem(sheet, row, "parameter randomize must be true or false, not '%s'", r)
		}
		if seed, ok := params["seed"]; ok {
			if !hasR || r != "true" {
				c.problem(sheet, row, "parameter seed needs randomize=true")
			} else if !strings.HasPrefix(seed, "${") {
				if _, err := strconv.ParseFloat(seed, 64); err != nil {
					c.problem(sheet, row, "parameter seed must be a number or a ${reference}, not '%s'", seed)
				}
			}
		}
		for _, k := range []string{"value", "label"} {
			if v, ok := params[k]; ok && !validName(v) {
				c.problem(sheet, row, "parameter %s '%s' must be a column name of the file (a letter or underscore, then letters, digits, underscores, hyphens or periods)", k, v)
			}
		}
	case "text":
		integer("rows")
	case "image":
		integer("max-pixels")
	case "audio":
		if v, ok := params["quality"]; ok && !contains([]string{"voice-only", "low", "normal", "external"}, v) {
			c.problem(sheet, row, "parameter quality must be voice-only, low, normal or external, not '%s'", v)
		}
	case "geopoint", "geotrace", "geoshape":
		if v, ok := params["allow-mock-accuracy"]; ok && v != "true" && v != "false" {
			c.problem(sheet, row, "parameter allow-mock-accuracy must be true or false, not '%s'", v)
		}
		num("capture-accuracy")
		num("warning-accuracy")
	}
}

// checkRange applies pyxform's rules for range parameters, in exact decimal
// arithmetic as pyxform does (0.1 steps must divide evenly).
func (c *compiler) checkRange(sheet string, row int, q *Question, params map[string]string) {
	noTicks, otherLook := false, false
	for _, a := range strings.Fields(q.Appearance) {
		switch a {
		case "no-ticks":
			noTicks = true
		case "vertical":
		default:
			otherLook = true
		}
	}
	if otherLook {
		for _, k := range []string{"tick_interval", "placeholder", "tick_labelset"} {
			if _, ok := params[k]; ok {
				c.problem(sheet, row, "range parameter %s needs appearance vertical or no-ticks", k)
				return
			}
		}
	}
	num := func(k, def string) (*big.Rat, bool) {
		v, ok := params[k]
		if !ok {
			if def == "" {
				return nil, true
			}
			v = def
		}
		x, good := new(big.Rat).SetString(v)
		if !good {
			c.problem(sheet, row, "range parameter %s must be a number, not '%s'", k, v)
			return nil, false
		}
		return x, true
	}
	start, ok1 := num("start", "1")
	end, ok2 := num("end", "10")
	step, ok3 := num("step", "1")
	tick, ok4 := num("tick_interval", "")
	placeholder, ok5 := num("placeholder", "")
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
		return
	}
	width := new(big.Rat).Abs(new(big.Rat).Sub(end, start))
	lo, hi := start, end
	if lo.Cmp(hi) > 0 {
		lo, hi = hi, lo
	}
	if step.Sign() == 0 {
		c.problem(sheet, row, "range parameter step must not be 0")
		return
	}
	if step.Cmp(width) > 0 {
		c.problem(sheet, row, "range parameter step must not be larger than the range from start to end")
		return
	}
	if tick != nil {
		switch {
		case tick.Sign() == 0:
			c.problem(sheet, row, "range parameter tick_interval must not be 0")
			return
		case tick.Cmp(width) > 0:
			c.problem(sheet, row, "range parameter tick_interval must not be larger than the range from start to end")
			return
		case !multipleOf(tick, step):
			c.problem(sheet, row, "range parameter tick_interval must be a multiple of step")
			return
		}
	}
	if placeholder != nil {
		if !multipleOf(new(big.Rat).Sub(placeholder, start), step) {
			c.problem(sheet, row, "range parameter placeholder must be start plus a multiple of step")
			return
		}
		if placeholder.Cmp(lo) < 0 || placeholder.Cmp(hi) > 0 {
			c.problem(sheet, row, "range parameter placeholder must be between start and end")
			return
		}
	}
	set, ok := params["tick_labelset"]
	if !ok {
		return
	}
	list, ok := c.choices[set]
	if !ok {
		c.problem(sheet, row, "range parameter tick_labelset names unknown choice list '%s'", set)
		return
	}
	values := make(map[string]bool)
	for _, ch := range list {
		v, good := new(big.Rat).SetString(ch.Name)
		if !good {
			c.problem(sheet, row, "choices of tick_labelset '%s' must be numbers, not '%s'", set, ch.Name)
			return
		}
		if v.Cmp(lo) < 0 || v.Cmp(hi) > 0 {
			c.problem(sheet, row, "choices of tick_labelset '%s' must be between start and end", set)
			return
		}
		unit, unitName := step, "step"
		if tick != nil {
			unit, unitName = tick, "tick_interval"
		}
		if !multipleOf(new(big.Rat).Sub(v, start), unit) {
			c.problem(sheet, row, "choices of tick_labelset '%s' must be start plus a multiple of %s", set, unitName)
			return
		}
		values[v.RatString()] = true
	}
	if noTicks {
		if len(values) > 2 {
			c.problem(sheet, row, "with appearance no-ticks, tick_labelset '%s' may have only 2 choices", set)
		} else if !values[start.RatString()] || !values[end.RatString()] || len(values) != 2 {
			c.problem(sheet, row, "with appearance no-ticks, tick_labelset '%s' must label exactly start and end", set)
		}
	}
}

// multipleOf reports whether x is an integer multiple of unit.
func multipleOf(x, unit *big.Rat) bool {
	return new(big.Rat).Quo(x, unit).IsInt()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// readChecks reads this project's checks sheet: name, expression and
// message[::lang].
func (c *compiler) readChecks() []Check {
	out := []Check{}
	s := c.wb.Sheet("checks")
	if s == nil {
		return out
	}
	cols := c.readColumns(s, checksColumns, nil)
	if len(s.Rows) > 0 {
		for _, need := range []string{"name", "expression"} {
			if !hasColumn(cols, need) {
				c.problem(s.Name, 1, "the checks sheet has no '%s' column", need)
			}
		}
	}
	seen := make(map[string]int)
	for _, r := range s.Rows {
		v := readCells(r, cols, cleanQuotesIn(nil))
		if v.empty() {
			continue
		}
		ch := Check{Name: v.get("name"), Expression: v.get("expression"), Message: v.textOf("message"), Row: r.Num}
		switch {
		case ch.Name == "":
			c.problem(s.Name, r.Num, "check has no name")
		case !validName(ch.Name):
			c.problem(s.Name, r.Num, "invalid check name '%s': it becomes the reason code consistency:%s, so use letters, digits and underscores", ch.Name, ch.Name)
		default:
			if first, dup := seen[ch.Name]; dup {
				c.problem(s.Name, r.Num, "duplicate check name '%s' (first at row %d)", ch.Name, first)
			} else {
				seen[ch.Name] = r.Num
			}
		}
		if ch.Expression == "" {
			c.problem(s.Name, r.Num, "check '%s' has no expression", ch.Name)
		}
		for _, col := range cols {
			if val := r.Cells[col.header]; val != "" && (col.base == "expression" || col.base == "message") {
				c.refs = append(c.refs, refUse{sheet: s.Name, row: r.Num, column: col.header, value: val})
			}
		}
		out = append(out, ch)
	}
	return out
}

// reRef finds ${name} references. Parsing expressions is package expr's
// job; here only the names are checked.
var reRef = regexp.MustCompile(`\$\{([^}]*)\}`)

func (c *compiler) checkReferences() {
	for _, u := range c.refs {
		for _, m := range reRef.FindAllStringSubmatch(u.value, -1) {
			name := strings.TrimPrefix(m[1], "last-saved#")
			switch {
			case !validName(name):
				c.problem(u.sheet, u.row, "%s has an invalid reference '%s': write ${name} with a question name", u.column, m[0])
			case c.names[name] == 0:
				c.problem(u.sheet, u.row, "%s refers to ${%s}, but no question is named '%s'", u.column, name, name)
			case c.nameCount[name] > 1:
				c.problem(u.sheet, u.row, "%s refers to ${%s}, but more than one element is named '%s' (a loop copies its questions for each choice)", u.column, name, name)
			}
		}
		if rest := reRef.ReplaceAllString(u.value, ""); strings.Contains(rest, "${") {
			c.problem(u.sheet, u.row, "%s has a reference without its closing '}'", u.column)
		}
	}
}
