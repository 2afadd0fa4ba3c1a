package collect

import (
	"fmt"
	"strings"

	"github.com/govsurvey/govsurvey/form"
)

// colKind says what one CSV column carries.
type colKind int

const (
	colIgnore      colKind = iota // another tool's metadata, read and dropped
	colInstanceID                 // instance_id or an alias
	colStarted                    // started or the form's start field
	colEnded                      // ended or the form's end field
	colSubmittedAt                // submitted_at or an alias
	colClient                     // client
	colField                      // one question's answer, as written
	colChoice                     // one 0/1 column of a select_multiple choice (KoboToolbox)
)

// column is one header cell, resolved against the form.
type column struct {
	header string
	kind   colKind
	field  int    // colField, colChoice: index into layout.fields
	choice string // colChoice: the choice name
	// localTime: the column may hold a time without an offset, read as UTC
	// (KoboToolbox writes _submission_time that way, in UTC).
	localTime bool
}

// metaAlias is a column other tools write for one of the §2 meta columns.
// Lower rank wins when a file has several; the losers are ignored.
type metaAlias struct {
	kind      colKind
	rank      int
	localTime bool
}

// metaAliases maps the meta columns of KoboToolbox and ODK Central exports to
// the §2 columns. The §2 names themselves have rank 0.
var metaAliases = map[string]metaAlias{
	"instance_id":      {colInstanceID, 0, false},
	"meta/instanceID":  {colInstanceID, 1, false},
	"meta-instanceID":  {colInstanceID, 1, false}, // ODK Central
	"_uuid":            {colInstanceID, 2, false}, // KoboToolbox
	"KEY":              {colInstanceID, 3, false}, // ODK Central
	"started":          {colStarted, 0, false},
	"ended":            {colEnded, 0, false},
	"submitted_at":     {colSubmittedAt, 0, false},
	"SubmissionDate":   {colSubmittedAt, 1, false}, // ODK Central
	"_submission_time": {colSubmittedAt, 2, true},  // KoboToolbox, UTC without offset
	"client":           {colClient, 0, false},
}

// ignoredMeta are other tools' bookkeeping columns that say nothing about
// the response itself. Any other column starting with "_" is KoboToolbox's
// too and is ignored as well.
var ignoredMeta = map[string]bool{
	"__version__": true, "SubmitterID": true, "SubmitterName": true,
	"AttachmentsPresent": true, "AttachmentsExpected": true, "Status": true,
	"ReviewState": true, "DeviceID": true, "Edits": true, "FormVersion": true,
}

// layout is a file's header resolved against a form: what each column
// carries, and which questions it answers.
type layout struct {
	cols   []column
	fields []*form.Question
	// Per field: the column giving the answer as written (-1: none), and
	// whether some 0/1 columns give its choices. A select_multiple may have
	// both (KoboToolbox writes both by default); they must then agree.
	whole  []int
	split  []bool
	choice []map[string]int // select_multiple fields: choice name → list position
}

// headerProblem is a problem with one header cell; col is its index.
type headerProblem struct {
	col int
	msg string
}

// resolveHeader maps header cells to what they carry. Columns are found by
// question name, by group/name path (any trailing part of the question's
// path), or, for KoboToolbox's split select_multiple, as path/choice.
func resolveHeader(f *form.Form, header []string) (*layout, []headerProblem) {
	fields := f.Fields()
	lay := &layout{
		cols:   make([]column, len(header)),
		fields: fields,
		whole:  make([]int, len(fields)),
		split:  make([]bool, len(fields)),
		choice: make([]map[string]int, len(fields)),
	}
	byName := make(map[string]int, len(fields))
	dashed := make(map[string]int, len(fields))
	for i, q := range fields {
		lay.whole[i] = -1
		byName[q.Name] = i
		dashed[strings.ReplaceAll(questionPath(q), "/", "-")] = i
		if q.Type == "select_multiple" {
			m := make(map[string]int)
			for j, c := range f.Choices[q.ListName] {
				m[c.Name] = j
			}
			lay.choice[i] = m
		}
	}
	// The form's own start/end fields may be exported under their names.
	var startEnd = map[string]colKind{}
	f.Walk(func(q *form.Question) {
		switch q.Type {
		case "start":
			startEnd[q.Name], startEnd[questionPath(q)] = colStarted, colStarted
		case "end":
			startEnd[q.Name], startEnd[questionPath(q)] = colEnded, colEnded
		}
	})

	var probs []headerProblem
	seen := make(map[string]int, len(header))
	// The column that won each meta kind and its rank, to drop lower-ranked aliases.
	metaCol := map[colKind]int{}
	metaRank := map[colKind]int{}
	// Who gives each choice, for "both give" problems.
	choiceBy := map[string]int{}

	for i, h := range header {
		h = strings.TrimSpace(h)
		c := column{header: h, kind: colIgnore}
		if h == "" {
			probs = append(probs, headerProblem{i, fmt.Sprintf("column %d has no name", i+1)})
			lay.cols[i] = c
			continue
		}
		if j, dup := seen[h]; dup {
			probs = append(probs, headerProblem{i, fmt.Sprintf("duplicate column '%s' (also column %d)", h, j+1)})
			lay.cols[i] = c
			continue
		}
		seen[h] = i

		// The §2 names themselves always mean the §2 columns.
		if a, ok := metaAliases[h]; ok && a.rank == 0 {
			// handled with the other meta columns below
		} else if qi, ok := findQuestion(fields, byName, h); ok {
			c.kind, c.field = colField, qi
		} else if qi, ok := dashed[h]; ok && strings.Contains(h, "-") {
			c.kind, c.field = colField, qi // ODK Central writes group-name
		} else if k := strings.LastIndexByte(h, '/'); k > 0 && k < len(h)-1 {
			if qi, ok := findQuestion(fields, byName, h[:k]); ok && fields[qi].Type == "select_multiple" {
				// A choice that is not in the list is still a value the
				// respondent sent; it is kept and flagged by cleaning.
				c.kind, c.field, c.choice = colChoice, qi, h[k+1:]
			}
		}

		switch c.kind {
		case colField:
			if j := lay.whole[c.field]; j >= 0 {
				probs = append(probs, headerProblem{i, fmt.Sprintf("columns '%s' and '%s' both give question %s", header[j], h, fields[c.field].Name)})
				c.kind = colIgnore
				break
			}
			lay.whole[c.field] = i
		case colChoice:
			key := fields[c.field].Name + "/" + c.choice
			if j, ok := choiceBy[key]; ok {
				probs = append(probs, headerProblem{i, fmt.Sprintf("columns '%s' and '%s' both give choice %s of question %s", header[j], h, c.choice, fields[c.field].Name)})
				c.kind = colIgnore
				break
			}
			choiceBy[key] = i
			lay.split[c.field] = true
		default:
			alias, isMeta := metaAliases[h]
			if !isMeta {
				if k, ok := startEnd[h]; ok {
					alias, isMeta = metaAlias{k, 1, false}, true
				}
			}
			switch {
			case isMeta:
				c.kind, c.localTime = alias.kind, alias.localTime
				j, had := metaCol[alias.kind]
				switch {
				case !had || alias.rank < metaRank[alias.kind]:
					if had {
						lay.cols[j].kind = colIgnore
					}
					metaCol[alias.kind], metaRank[alias.kind] = i, alias.rank
				case alias.rank == metaRank[alias.kind]:
					probs = append(probs, headerProblem{i, fmt.Sprintf("columns '%s' and '%s' both give %s", header[j], h, kindName(alias.kind))})
					c.kind = colIgnore
				default:
					c.kind = colIgnore
				}
			case ignoredMeta[h], strings.HasPrefix(h, "_"),
				strings.HasPrefix(h, "meta/"), strings.HasPrefix(h, "formhub/"):
				// Other tools' bookkeeping: read and dropped.
			default:
				msg := fmt.Sprintf("unknown column '%s'", h)
				if q := f.Question(lastSegment(h)); q != nil {
					if q.HoldsAnswer() {
						msg += fmt.Sprintf(" (question %s is at '%s')", q.Name, questionPath(q))
					} else {
						msg += fmt.Sprintf(" (%s is a %s, which holds no answer)", q.Name, q.Type)
					}
				}
				probs = append(probs, headerProblem{i, msg})
			}
		}
		lay.cols[i] = c
	}
	if _, ok := metaCol[colInstanceID]; !ok {
		probs = append(probs, headerProblem{0, "no instance_id column (nor meta/instanceID or _uuid)"})
	}
	return lay, probs
}

// findQuestion finds the field a header names: its name, its full path, or
// a trailing part of its path ("demo/gender" or "gender" for a question at
// "survey/demo/gender").
func findQuestion(fields []*form.Question, byName map[string]int, h string) (int, bool) {
	qi, ok := byName[lastSegment(h)]
	if !ok {
		return 0, false
	}
	p := questionPath(fields[qi])
	if h == p || strings.HasSuffix(p, "/"+h) {
		return qi, true
	}
	return 0, false
}

func questionPath(q *form.Question) string {
	if q.Path == "" {
		return q.Name
	}
	return q.Path
}

func lastSegment(h string) string {
	return h[strings.LastIndexByte(h, '/')+1:]
}

func kindName(k colKind) string {
	switch k {
	case colInstanceID:
		return "instance_id"
	case colStarted:
		return "started"
	case colEnded:
		return "ended"
	case colSubmittedAt:
		return "submitted_at"
	case colClient:
		return "client"
	}
	return "a value"
}
