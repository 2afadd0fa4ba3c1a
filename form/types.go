package form

import (
	"regexp"
	"sort"
	"strings"
)

// questionTypes maps every plain (non-select, non-group) type name XLSForm
// and pyxform accept, aliases included, to the base type kept in
// Question.Type.
var questionTypes = map[string]string{
	"text": "text", "string": "text", "add text prompt": "text",
	"integer": "integer", "int": "integer", "add integer prompt": "integer",
	"decimal": "decimal", "add decimal prompt": "decimal",
	"range": "range",
	"note":  "note", "add note prompt": "note",
	"acknowledge": "acknowledge", "trigger": "acknowledge", "add acknowledge prompt": "acknowledge",
	"date": "date", "add date prompt": "date",
	"time":     "time",
	"dateTime": "dateTime", "datetime": "dateTime", "add dateTime prompt": "dateTime", "add date time prompt": "dateTime",
	"geopoint": "geopoint", "gps": "geopoint", "location": "geopoint", "add location prompt": "geopoint",
	"geotrace": "geotrace",
	"geoshape": "geoshape",
	"image":    "image", "photo": "image", "add image prompt": "image", "add photo prompt": "image",
	"audio": "audio", "add audio prompt": "audio",
	"video": "video", "add video prompt": "video",
	"file": "file", "add file prompt": "file",
	"barcode": "barcode", "add barcode prompt": "barcode",
	"calculate": "calculate", "add calculate prompt": "calculate",
	"hidden":              "hidden",
	"xml-external":        "xml-external",
	"csv-external":        "csv-external",
	"background-audio":    "background-audio",
	"background-geopoint": "background-geopoint",
	"start-geopoint":      "start-geopoint",
	"start":               "start",
	"end":                 "end",
	"today":               "today",
	"deviceid":            "deviceid", "imei": "deviceid",
	"subscriberid": "subscriberid",
	"simserial":    "simserial",
	"username":     "username",
	"phonenumber":  "phonenumber",
	"email":        "email",
	"audit":        "audit",
	// Older pyxform vocabulary, still accepted.
	"q string": "text", "q note": "note", "q int": "integer", "q decimal": "decimal",
	"q date": "date", "q dateTime": "dateTime", "q date time": "dateTime", "date time": "dateTime",
	"q acknowledge": "acknowledge", "q geopoint": "geopoint", "q location": "geopoint",
	"q picture": "image", "q image": "image", "q audio": "audio", "q video": "video",
	"q barcode": "barcode", "q calculate": "calculate",
	"phone number": "text", "percentage": "integer", "number of days in last month": "integer",
	"number of days in last six months": "integer", "number of days in last year": "integer",
	"get start time": "start", "start time": "start", "get end time": "end", "end time": "end",
	"get today": "today", "get device id": "deviceid", "device id": "deviceid",
	"get subscriber id": "subscriberid", "subscriber id": "subscriberid",
	"get sim id": "simserial", "sim id": "simserial", "get phone number": "phonenumber",
	"uri:deviceid": "deviceid", "uri:subscriberid": "subscriberid", "uri:simserial": "simserial",
	"uri:username": "username", "uri:phonenumber": "phonenumber", "uri:email": "email",
}

// selectCommands maps the select-like commands (followed by a list name) to
// the base type.
var selectCommands = map[string]string{
	"select_one": "select_one", "select one": "select_one", "select1": "select_one",
	"select one from": "select_one", "add select one prompt using": "select_one",
	"select_multiple": "select_multiple", "select all that apply": "select_multiple",
	"select all that apply from": "select_multiple", "select multiple from": "select_multiple",
	"add select multiple prompt using": "select_multiple",
	"select_one_external":              "select_one_external",
	"select_one_from_file":             "select_one_from_file", "select one from file": "select_one_from_file",
	"select_multiple_from_file": "select_multiple_from_file", "select multiple from file": "select_multiple_from_file",
	"rank": "rank",
}

// controlTypes maps begin/end control words to group, repeat or loop.
var controlTypes = map[string]string{
	"group": "group", "repeat": "repeat", "lgroup": "repeat", "looped group": "repeat", "loop": "loop",
}

var (
	reBeginControl = regexp.MustCompile(`^begin[ _](group|repeat|lgroup|looped group|loop)(?: (?:over )?(\S+))?$`)
	reEndControl   = regexp.MustCompile(`^end[ _](group|repeat|lgroup|looped group|loop)$`)
	reSelect       = regexp.MustCompile(`^(` + alternation(selectCommands) + `) (\S+)(?: (or specify other|or_other|or other))?$`)
	reOSM          = regexp.MustCompile(`^osm (\S+)$`)
)

func alternation(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, regexp.QuoteMeta(k))
	}
	// Longest first, so "select_one_external" is preferred to "select_one".
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) > len(keys[j])
		}
		return keys[i] < keys[j]
	})
	return strings.Join(keys, "|")
}

// parsedType is the meaning of one survey type cell.
type parsedType struct {
	base    string // question base type, or group/repeat/loop for begin and end
	list    string // choice list (selects, rank, loop) or file name (from_file)
	orOther bool
	begin   bool
	end     bool
}

// parseType reads a type cell; the message is set when the type is unknown
// or incomplete.
func parseType(t string) (parsedType, string) {
	if m := reEndControl.FindStringSubmatch(t); m != nil {
		return parsedType{base: controlTypes[m[1]], end: true}, ""
	}
	if m := reBeginControl.FindStringSubmatch(t); m != nil {
		return parsedType{base: controlTypes[m[1]], list: m[2], begin: true}, ""
	}
	if m := reSelect.FindStringSubmatch(t); m != nil {
		return parsedType{base: selectCommands[m[1]], list: m[2], orOther: m[3] != ""}, ""
	}
	if cmd, ok := selectCommands[t]; ok {
		return parsedType{}, "type '" + t + "' needs a choice list name after it, e.g. '" + cmd + " yes_no'"
	}
	if m := reOSM.FindStringSubmatch(t); m != nil {
		return parsedType{base: "osm", list: m[1]}, ""
	}
	if base, ok := questionTypes[t]; ok {
		return parsedType{base: base}, ""
	}
	// Spreadsheet authors capitalise ("Text", "Integer"); the meaning is plain.
	if base, ok := questionTypes[strings.ToLower(t)]; ok {
		return parsedType{base: base}, ""
	}
	if t == "osm" {
		return parsedType{base: "osm"}, ""
	}
	return parsedType{}, "unknown question type '" + t + "'"
}

// unsupportedType names what the web form cannot show yet for q, or "".
// The form is still accepted and stored: data for these questions can be
// imported, and the web form learns them one by one.
func unsupportedType(q *Question) string {
	switch q.Type {
	case "geopoint", "geotrace", "geoshape", "start-geopoint", "background-geopoint",
		"image", "audio", "video", "file", "barcode", "background-audio", "audit",
		"xml-external", "csv-external", "osm",
		"select_one_from_file", "select_multiple_from_file", "select_one_external",
		"rank", "repeat":
		return q.Type
	case "select_one", "select_multiple":
		if strings.Contains(q.ListName, "${") {
			return q.Type + " from a question's answers"
		}
	}
	return ""
}

// labelOptional reports the types that need neither label nor hint: they
// are not shown to the respondent.
func labelOptional(t string) bool {
	switch t {
	case "calculate", "hidden", "start", "end", "today", "deviceid", "subscriberid", "simserial",
		"username", "phonenumber", "email", "audit", "start-geopoint", "background-geopoint",
		"background-audio", "xml-external", "csv-external":
		return true
	}
	return false
}

// identifyingTypes are metadata that name a person or a device; they are
// classified personal unless the form says otherwise.
func identifyingType(t string) bool {
	switch t {
	case "deviceid", "subscriberid", "simserial", "username", "phonenumber", "email":
		return true
	}
	return false
}
