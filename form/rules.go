package form

import (
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// This file holds the XLSForm rules pyxform enforces beyond the shape of
// the sheets: reserved and generated names, parameters of particular
// question types, triggers, secondary instances and search(). Each rule
// follows pyxform 4.5 (see conformance_test.go); messages are govsurvey's.

// contractColumns are the columns of CONTRACTS.md §2 that every response
// has besides its questions; a question of the same name would collide
// with them in imports and exports.
var contractColumns = set("instance_id", "started", "ended", "submitted_at", "client")

// checkReservedName applies the rules on names that pyxform and the CSV
// contract reserve.
func (c *compiler) checkReservedName(sheet string, row int, name string, pt parsedType) {
	if name == "meta" {
		// pyxform puts instanceID and the other metadata in a "meta" group.
		c.problem(sheet, row, "the name 'meta' is reserved for form metadata; choose another name")
	}
	if contractColumns[name] {
		// The instruments name their start and end fields started and
		// ended: those are exactly the contract's columns.
		ok := pt.base == "start" && name == "started" || pt.base == "end" && name == "ended"
		if !ok && !pt.begin {
			c.problem(sheet, row, "the name '%s' is a column every response already has (instance_id, started, ended, submitted_at, client); choose another name", name)
		}
	}
}

// claimRepeat records a repeat name: pyxform requires them unique anywhere
// in the form and different from the form's root element.
func (c *compiler) claimRepeat(sheet string, row int, name string, cur *frame) {
	c.repeatsSeen[name] = true
	if name == c.rootName {
		c.problem(sheet, row, "repeat name '%s' is the name of the form itself (settings name, else the file name); choose another name", name)
	}
	if first, dup := c.repeatNames[name]; dup {
		c.problem(sheet, row, "repeat name '%s' is already used at row %d; repeat names must be unique in the whole form", name, first)
		return
	}
	c.repeatNames[name] = row
	if cur.multi > 1 {
		c.problem(sheet, row, "repeat '%s' is inside a begin_loop, which copies it once per choice; repeat names must be unique in the whole form", name)
	}
}

// repeatCount reserves the name of the calculate pyxform generates for a
// repeat_count that is not a single ${reference}: NAME_count, beside the
// repeat.
func (c *compiler) repeatCount(sheet string, row int, q *Question, cur *frame) {
	count := ""
	for h, v := range q.Extra {
		switch snake(h) {
		case "repeat_count", "jr:count", "count":
			count = strings.TrimSpace(v)
		}
	}
	if count == "" || reSingleRef.MatchString(count) {
		return
	}
	gen := q.Name + "_count"
	if first, dup := cur.siblings[gen]; dup {
		c.problem(sheet, row, "repeat_count of '%s' needs a calculate named '%s' beside the repeat, but row %d already uses that name", q.Name, gen, first)
		return
	}
	cur.siblings[gen] = row
}

var reSingleRef = regexp.MustCompile(`^\$\{[^}]+\}$`)

// triggerUse is one ${name} in a trigger cell.
type triggerUse struct {
	row              int
	target, question string
}

// geoRef is one reference-geometry parameter, checked once every list,
// file and repeat is known.
type geoRef struct {
	sheet string
	row   int
	value string
}

// searchSelect records how the selects of one choice list use search().
type searchSelect struct {
	search, plain []string // question names
}

// questionRules applies the per-type rules pyxform adds to a question row.
func (c *compiler) questionRules(sheet string, row int, q *Question, v cells) {
	trigger := ""
	for h, val := range q.Extra {
		if snake(h) == "trigger" {
			trigger = val
		}
	}
	if q.Type == "calculate" || (q.Calculation != "" || trigger != "") && len(q.Label) == 0 && len(q.Hint) == 0 {
		// Not shown to the respondent, so no change of it can be seen.
		c.hidden[q.Name] = true
	}
	for _, m := range reRef.FindAllStringSubmatch(trigger, -1) {
		c.triggers = append(c.triggers, triggerUse{row: row, target: m[1], question: q.Name})
	}

	params, _ := parseParameters(q.Parameters)
	if q.Parameters == "" {
		params = nil
	}
	switch q.Type {
	case "audit":
		c.auditParameters(sheet, row, params)
	case "background-audio":
		if v, ok := params["quality"]; ok && !contains([]string{"voice-only", "low", "normal"}, v) {
			c.problem(sheet, row, "parameter quality of background-audio must be voice-only, low or normal, not '%s'", v)
		}
	case "image":
		if app, ok := params["app"]; ok && (q.Appearance == "" || q.Appearance == "annotate") {
			if msg := androidPackageProblem(app); msg != "" {
				c.problem(sheet, row, "parameter app: %s", msg)
			}
		}
	case "background-geopoint":
		if strings.TrimSpace(trigger) == "" {
			c.problem(sheet, row, "a background-geopoint needs a trigger: the question whose change records the location")
		}
		if q.Calculation != "" {
			c.problem(sheet, row, "a background-geopoint takes no calculation: the location is its value")
		}
	case "xml-external":
		c.fileStems[q.Name] = true
		c.instance(q.Name, "external", "jr://file/"+q.Name+".xml")
	case "csv-external":
		c.fileStems[q.Name] = true
		c.instance(q.Name, "external", "jr://file-csv/"+q.Name+".csv")
	case "select_one_from_file", "select_multiple_from_file":
		ext := strings.ToLower(path.Ext(q.ListName))
		stemName := strings.TrimSuffix(q.ListName, path.Ext(q.ListName))
		c.fileStems[stemName] = true
		uri := "jr://file/" + q.ListName
		if ext == ".csv" {
			uri = "jr://file-csv/" + q.ListName
		}
		c.instance(stemName, "file", uri)
	}
	if q.Type == "geoshape" || q.Type == "geotrace" {
		if v, ok := params["incremental"]; ok && !isTrue(v) {
			c.problem(sheet, row, "parameter incremental of %s must be true, or left out", q.Type)
		}
	}
	if g, ok := params["reference-geometry"]; ok {
		c.geoRefs = append(c.geoRefs, geoRef{sheet: sheet, row: row, value: referenceGeometryValue(q.Parameters, g)})
	}
	if strings.Contains(q.Appearance, "search(") {
		if strings.HasSuffix(q.Type, "_from_file") {
			c.problem(sheet, row, "search() in the appearance cannot be used with %s; use a select from a choice list", q.Type)
		}
	}
	if q.IsSelect() && q.ListName != "" && !strings.Contains(q.ListName, "${") {
		u := c.searchUse[q.ListName]
		if strings.Contains(q.Appearance, "search(") {
			u.search = append(u.search, q.Name)
		} else {
			u.plain = append(u.plain, q.Name)
		}
		c.searchUse[q.ListName] = u
	}
	for _, e := range []string{q.Calculation, q.Relevant, q.Constraint, q.Default, q.ChoiceFilter, q.RequiredIf} {
		for _, m := range rePulldata.FindAllStringSubmatch(e, -1) {
			c.instance(m[1], "pulldata", "jr://file-csv/"+m[1]+".csv")
		}
		if strings.Contains(e, "${last-saved#") {
			c.instance("__last-saved", "last-saved", "jr://instance/last-saved")
		}
	}
	_ = v
}

var rePulldata = regexp.MustCompile(`pulldata\(\s*['"]([^'"]+)['"]`)

// referenceGeometryValue recovers the case of a reference-geometry value,
// which parseParameters lower-cases (list and question names are
// case-sensitive).
func referenceGeometryValue(raw, lowered string) string {
	i := strings.Index(strings.ToLower(raw), lowered)
	if i < 0 {
		return lowered
	}
	return raw[i : i+len(lowered)]
}

// auditParameters applies pyxform's rules on the parameters of an audit.
func (c *compiler) auditParameters(sheet string, row int, params map[string]string) {
	for _, k := range []string{"track-changes", "identify-user"} {
		if v, ok := params[k]; ok && v != "true" && v != "false" {
			c.problem(sheet, row, "audit parameter %s must be true or false, not '%s'", k, v)
		}
	}
	if v, ok := params["track-changes-reasons"]; ok && v != "on-form-edit" {
		c.problem(sheet, row, "audit parameter track-changes-reasons must be on-form-edit, not '%s'", v)
	}
	loc := []string{"location-priority", "location-min-interval", "location-max-age"}
	n := 0
	for _, k := range loc {
		if _, ok := params[k]; ok {
			n++
		}
	}
	if n == 0 {
		return
	}
	if n < len(loc) {
		c.problem(sheet, row, "an audit with location needs all three parameters location-priority, location-min-interval and location-max-age")
		return
	}
	if p := params["location-priority"]; !contains([]string{"no-power", "low-power", "balanced", "high-accuracy"}, p) {
		c.problem(sheet, row, "audit parameter location-priority must be no-power, low-power, balanced or high-accuracy, not '%s'", p)
	}
	minI, err1 := strconv.Atoi(params["location-min-interval"])
	maxA, err2 := strconv.Atoi(params["location-max-age"])
	switch {
	case err1 != nil:
		c.problem(sheet, row, "audit parameter location-min-interval must be an integer")
	case err2 != nil:
		c.problem(sheet, row, "audit parameter location-max-age must be an integer")
	case minI < 0:
		c.problem(sheet, row, "audit parameter location-min-interval must not be negative")
	case maxA < 0:
		c.problem(sheet, row, "audit parameter location-max-age must not be negative")
	case maxA < minI:
		c.problem(sheet, row, "audit parameter location-max-age must not be smaller than location-min-interval")
	}
}

// androidPackageProblem checks the app parameter of an image question as
// pyxform does: a Java package name such as org.example.camera.
func androidPackageProblem(name string) string {
	switch {
	case strings.TrimSpace(name) == "":
		return "the Android package name is missing"
	case !strings.Contains(name, "."):
		return "invalid Android package name '" + name + "': it needs at least one '.'"
	case strings.HasSuffix(name, "."):
		return "invalid Android package name '" + name + "': it must not end with '.'"
	}
	for _, seg := range strings.Split(name, ".") {
		switch {
		case seg == "":
			return "invalid Android package name '" + name + "': empty part between dots"
		case seg[0] == '_':
			return "invalid Android package name '" + name + "': a part starts with an underscore"
		case seg[0] >= '0' && seg[0] <= '9':
			return "invalid Android package name '" + name + "': a part starts with a digit"
		}
		for _, r := range seg {
			if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return "invalid Android package name '" + name + "': only letters, digits and underscores between the dots"
			}
		}
	}
	return ""
}

// checkTriggers refuses a trigger on a question the respondent never sees:
// its value never changes on screen, so the triggered calculation would
// never run.
func (c *compiler) checkTriggers() {
	for _, t := range c.triggers {
		if c.hidden[t.target] {
			c.problem("survey", t.row, "trigger ${%s} of '%s' names a question that is not shown (a calculate, or a calculation without label), so it can never trigger", t.target, t.question)
		}
	}
}

// checkGeoRefs checks reference-geometry parameters: the name of a choice
// list, an entity list or an attached file, or ${repeat}.
func (c *compiler) checkGeoRefs() {
	for _, g := range c.geoRefs {
		v := strings.TrimSpace(g.value)
		ok := false
		if m := reSingleRef.FindString(v); m != "" {
			ok = c.repeatsSeen[strings.TrimSuffix(strings.TrimPrefix(v, "${"), "}")]
		} else {
			_, isList := c.listRows[v]
			ok = isList || c.fileStems[v] || c.ent != nil && c.ent.byName[v] != nil
		}
		if !ok {
			c.problem(g.sheet, g.row, "parameter reference-geometry '%s' must name a choice list, an entity list, an attached file (select_one_from_file, csv-external, xml-external) or ${a repeat}", v)
		}
	}
}

// checkSearch: a choice list shown with search() is replaced by the file
// it searches, so every select of that list must use search().
func (c *compiler) checkSearch() {
	lists := make([]string, 0, len(c.searchUse))
	for l := range c.searchUse {
		lists = append(lists, l)
	}
	sort.Strings(lists)
	for _, l := range lists {
		u := c.searchUse[l]
		if len(u.search) > 0 && len(u.plain) > 0 {
			q := c.fieldNames[u.search[0]]
			c.problem("survey", q, "choice list '%s' is used with search() by '%s' and without it by %s; use search() on all of them or give them separate lists", l, u.search[0], quoteList(u.plain))
		}
	}
}

// instanceUse is one secondary instance the XForm of this form would hold.
type instanceUse struct {
	kind, uri string
}

// instance registers a secondary instance. Two sources under one id would
// make the XForm ambiguous, which pyxform refuses.
func (c *compiler) instance(id, kind, uri string) {
	prev, ok := c.instances[id]
	if !ok {
		c.instances[id] = instanceUse{kind: kind, uri: uri}
		return
	}
	if prev.uri != uri {
		c.problem("", 0, "'%s' names two different data sources (%s %s and %s %s); rename one of them", id, prev.kind, describeURI(prev.uri), kind, describeURI(uri))
	}
}

func describeURI(uri string) string {
	if uri == "" {
		return "on the choices sheet"
	}
	return uri
}

// checkInstances registers the choice lists as instances, after the
// survey, so a clash names the survey's source first.
func (c *compiler) checkInstances() {
	lists := make([]string, 0, len(c.listRows))
	for l := range c.listRows {
		lists = append(lists, l)
	}
	sort.Strings(lists)
	for _, l := range lists {
		c.instance(l, "choice list", "")
	}
}

// defaultIsDynamic reports a default that is an expression evaluated when
// the form opens (pyxform's default_is_dynamic) rather than a literal.
func defaultIsDynamic(def, typ string) bool {
	d := strings.TrimSpace(def)
	if d == "" {
		return false
	}
	if strings.Contains(d, "${") || reFuncCall.MatchString(d) {
		return true
	}
	if _, err := strconv.ParseFloat(d, 64); err == nil {
		return false
	}
	switch typ {
	case "date", "dateTime", "time":
		// 2020-01-31 and 12:30 are literals, not subtraction.
		if reDateLiteral.MatchString(d) {
			return false
		}
	}
	if strings.HasPrefix(d, "/") || strings.HasPrefix(d, "./") || strings.HasPrefix(d, "../") {
		return true
	}
	if reMathOp.MatchString(d) {
		return true
	}
	return false
}

var (
	reFuncCall    = regexp.MustCompile(`[A-Za-z_][\w.:-]*\s*\(`)
	reDateLiteral = regexp.MustCompile(`^[0-9T:.+\-Z ]+$`)
	reMathOp      = regexp.MustCompile(`[0-9)\s][+*-]\s*[0-9(]|\s(div|mod)\s`)
)

// isTrue reports a yes/true cell (pyxform's yes_no aliases that mean yes).
func isTrue(v string) bool {
	b, isBool := truth(v)
	return b && isBool
}
