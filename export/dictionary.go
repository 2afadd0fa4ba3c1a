package export

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
)

// Kind is what a variable holds.
type Kind int

const (
	KindString    Kind = iota // text, as written
	KindCode                  // a select_one: choice number 1..k in list order
	KindDichotomy             // one choice of a select_multiple: 1 chosen, 0 not, missing when unanswered
	KindInteger               // a whole number
	KindDecimal               // a number
	KindDate                  // a calendar date
	KindDateTime              // an instant
)

func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindCode:
		return "code"
	case KindDichotomy:
		return "dichotomy"
	case KindInteger:
		return "integer"
	case KindDecimal:
		return "decimal"
	case KindDate:
		return "date"
	case KindDateTime:
		return "datetime"
	}
	return "unknown"
}

// Numeric reports whether the variable is stored as a number.
func (k Kind) Numeric() bool { return k != KindString }

// Measure is the SPSS measurement level.
type Measure int

const (
	Nominal Measure = 1
	Ordinal Measure = 2
	Scale   Measure = 3
)

// Variable is one column of every analyst format.
type Variable struct {
	Name   string    // valid in SPSS, Stata and Parquet: ASCII letters, digits and _, a letter first, at most 32 bytes
	Label  string    // in the export's language
	Labels form.Text // in every language of the form (the codebook shows them all)
	Kind   Kind
	// Source says where the values come from: "meta" (instance_id, times,
	// client), "question", "choice" (a dichotomy of a select_multiple),
	// "weight" or "validity" (cleaning's verdict: valid, invalid_reasons).
	Source         string
	Question       *form.Question // the question, for "question" and "choice"
	Choice         *form.Choice   // the choice, for "choice"
	ChoiceCode     int            // its number in the list, 1..k, for "choice"
	ValueLabels    int            // index into Dictionary.ValueLabels, -1 for none
	Measure        Measure
	Classification string // the question's, "internal" for meta columns, "" for the weight

	field int // position in the latest form's Fields, for "question" and "choice"
}

// ValueLabel is the label of one code.
type ValueLabel struct {
	Value  int
	Name   string    // the choice name
	Label  string    // in the export's language
	Labels form.Text // every language
}

// ValueLabelSet is the labels of one choice list, shared by every variable
// that uses the list.
type ValueLabelSet struct {
	Name   string // valid as a Stata value label name
	List   string // the choice list
	Labels []ValueLabel
}

// ResponseSet is a select_multiple's dichotomies as an SPSS multiple
// dichotomy set (counted value 1).
type ResponseSet struct {
	Name      string // "$" and the question's variable name
	Label     string
	Question  *form.Question
	Variables []int // indexes into Dictionary.Variables
}

// Omitted is a question left out of the export, and why.
type Omitted struct {
	Question *form.Question
	Reason   string
}

// Dictionary describes the variables of an export of one form.
type Dictionary struct {
	FormID    string
	Version   string
	Revision  int
	Title     string
	Language  string // the language labels are written in, as the form names it
	Languages []string
	Location  *time.Location // the zone SPSS and Stata date-times are written in

	Variables   []Variable
	ValueLabels []ValueLabelSet
	Sets        []ResponseSet
	Omitted     []Omitted
	Weighting   string // how the weights were made; "" when unweighted
	Weight      int    // index of the weight variable, -1 when unweighted
	Client      bool   // the client column is included
}

// metaColumns are the response's own columns, in CONTRACTS.md §2 order.
var metaColumns = []struct {
	name string
	kind Kind
	zh   string
	en   string
}{
	{"instance_id", KindString, "提交编号", "Submission id"},
	{"started", KindDateTime, "开始答题时间", "Started"},
	{"ended", KindDateTime, "结束答题时间", "Ended"},
	{"submitted_at", KindDateTime, "提交时间", "Submitted at"},
	{"client", KindString, "客户端假名标识", "Pseudonymous client key"},
}

// NewDictionary describes the export of form fv (f is its compiled form)
// with opts: which questions become which variables, their names, labels
// and value labels.
func NewDictionary(fv store.FormVersion, f *form.Form, opts Options) (*Dictionary, error) {
	lang := opts.Language
	if lang == "" {
		lang = f.DefaultLanguage
	}
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	d := &Dictionary{
		FormID: fv.FormID, Version: fv.Version, Revision: fv.Revision, Title: f.Title,
		Language: lang, Languages: f.Languages, Location: loc,
		Weight: -1, Client: opts.IncludeClient,
	}
	if d.FormID == "" {
		d.FormID = f.ID
	}
	if d.Version == "" {
		d.Version = f.Version
	}
	names := newNamer()
	zhKey, enKey := languageKeys(f)
	for _, m := range metaColumns {
		if m.name == "client" && !opts.IncludeClient {
			continue
		}
		labels := form.Text{zhKey: m.zh, enKey: m.en}
		if m.kind == KindDateTime {
			zone := loc.String()
			labels = form.Text{zhKey: m.zh + "（" + zone + "）", enKey: m.en + " (" + zone + ")"}
		}
		d.Variables = append(d.Variables, Variable{
			Name: names.take(m.name), Label: pick(labels, lang), Labels: labels, Kind: m.kind,
			Source: "meta", ValueLabels: -1, Measure: measureOf(m.kind), Classification: "internal",
		})
	}
	lists := map[string]int{}
	labelNames := newNamer()
	for i, q := range f.Fields() {
		class := q.Classification
		if class == "" {
			class = "internal"
		}
		if (class == "personal" || class == "sensitive") && !opts.IncludePersonal {
			d.Omitted = append(d.Omitted, Omitted{q, "classified " + class + " (de-identified export)"})
			continue
		}
		label := q.Label.In(lang)
		v := Variable{
			Name: names.take(q.Name), Label: label, Labels: q.Label, Source: "question",
			Question: q, ValueLabels: -1, Classification: class, field: i,
		}
		switch q.Type {
		case "select_one":
			choices := f.Choices[q.ListName]
			if len(choices) == 0 {
				// A list outside the form (select_one_from_file and the
				// like): the names are all there is.
				v.Kind = KindString
				break
			}
			v.Kind = KindCode
			set, ok := lists[q.ListName]
			if !ok {
				set = len(d.ValueLabels)
				lists[q.ListName] = set
				vs := ValueLabelSet{Name: labelNames.take(q.ListName), List: q.ListName}
				for j, c := range choices {
					vs.Labels = append(vs.Labels, ValueLabel{Value: j + 1, Name: c.Name, Label: choiceLabel(c, lang), Labels: c.Label})
				}
				d.ValueLabels = append(d.ValueLabels, vs)
			}
			v.ValueLabels = set
		case "select_multiple":
			choices := f.Choices[q.ListName]
			if len(choices) == 0 {
				v.Kind = KindString
				break
			}
			set := ResponseSet{Name: "$" + v.Name, Label: label, Question: q}
			for j := range choices {
				c := &choices[j]
				cv := Variable{
					Name:  names.take(dichotomyName(q.Name, c.Name, j+1)),
					Label: choiceLabel(*c, lang), Labels: c.Label,
					Kind: KindDichotomy, Source: "choice", Question: q, Choice: c, ChoiceCode: j + 1,
					ValueLabels: -1, Measure: Nominal, Classification: class, field: i,
				}
				set.Variables = append(set.Variables, len(d.Variables))
				d.Variables = append(d.Variables, cv)
			}
			// The set's name took the question's name; no variable has it.
			d.Sets = append(d.Sets, set)
			continue
		case "integer":
			v.Kind = KindInteger
		case "decimal", "range":
			v.Kind = KindDecimal
		case "date", "today":
			v.Kind = KindDate
		case "dateTime":
			v.Kind = KindDateTime
		default:
			v.Kind = KindString
		}
		v.Measure = measureOf(v.Kind)
		d.Variables = append(d.Variables, v)
	}
	if c := opts.Cleaning; c != nil && c.KeepInvalid {
		vl := form.Text{zhKey: "有效（清理后）：1 有效，0 无效", enKey: "Valid after cleaning: 1 valid, 0 invalid"}
		rl := form.Text{zhKey: "无效原因（清理规则代码）", enKey: "Why invalid (cleaning reason codes)"}
		d.Variables = append(d.Variables,
			Variable{Name: names.take("valid"), Label: pick(vl, lang), Labels: vl, Kind: KindInteger,
				Source: "validity", ValueLabels: -1, Measure: Nominal, Classification: "internal"},
			Variable{Name: names.take("invalid_reasons"), Label: pick(rl, lang), Labels: rl, Kind: KindString,
				Source: "validity", ValueLabels: -1, Measure: Nominal, Classification: "internal"})
	}
	if w := opts.Weights; w != nil {
		if w.Of == nil {
			return nil, fmt.Errorf("export: weights without a function giving them")
		}
		name := w.Name
		if name == "" {
			name = "weight"
		}
		labels := form.Text{zhKey: "权重", enKey: "Weight"}
		if w.Label != "" {
			labels = form.Text{"": w.Label}
		}
		d.Weight = len(d.Variables)
		d.Variables = append(d.Variables, Variable{
			Name: names.take(name), Label: pick(labels, lang), Labels: labels, Kind: KindDecimal,
			Source: "weight", ValueLabels: -1, Measure: Scale,
		})
		d.Weighting = w.Method
		if d.Weighting == "" {
			d.Weighting = "weights given by the caller"
		}
	}
	return d, nil
}

// languageKeys returns the form's own names for Chinese and English, so
// that the labels govsurvey adds sit beside the form's in the codebook.
func languageKeys(f *form.Form) (zh, en string) {
	zh, en = "中文 (zh)", "English (en)"
	for _, l := range f.Languages {
		switch form.LanguageCode(l) {
		case "zh":
			zh = l
		case "en":
			en = l
		}
	}
	return zh, en
}

func pick(t form.Text, lang string) string { return t.In(lang) }

// choiceLabel is a choice's label, or its name when it has none, so that a
// value label is never blank.
func choiceLabel(c form.Choice, lang string) string {
	if l := c.Label.In(lang); l != "" {
		return l
	}
	return c.Name
}

func measureOf(k Kind) Measure {
	switch k {
	case KindInteger, KindDecimal, KindDate, KindDateTime:
		return Scale
	}
	return Nominal
}

// dichotomyName names one choice's 0/1 variable: field_choice, or
// field_code when that would be too long.
func dichotomyName(field, choice string, code int) string {
	n := cleanName(field + "_" + choice)
	if len(n) <= maxName {
		return n
	}
	return fit(cleanName(field), "_"+strconv.Itoa(code))
}

// maxName is Stata's limit, the tightest of the three formats.
const maxName = 32

// reserved are words SPSS or Stata do not accept as variable names.
var reserved = map[string]bool{
	"all": true, "and": true, "by": true, "eq": true, "ge": true, "gt": true, "le": true,
	"lt": true, "ne": true, "not": true, "or": true, "to": true, "with": true,
	"byte": true, "double": true, "float": true, "if": true, "in": true, "int": true,
	"long": true, "strl": true, "using": true,
}

// cleanName makes s a name every format accepts, but for its length: ASCII
// letters, digits and underscores, starting with a letter, not a reserved
// word.
func cleanName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	n := b.String()
	if n == "" || !(n[0] >= 'a' && n[0] <= 'z' || n[0] >= 'A' && n[0] <= 'Z') {
		n = "v" + n
	}
	low := strings.ToLower(n)
	if reserved[low] || isStataStr(low) {
		n += "_"
	}
	return n
}

// fit cuts name so that name+suffix is at most maxName bytes.
func fit(name, suffix string) string {
	if len(name) > maxName-len(suffix) {
		name = name[:maxName-len(suffix)]
	}
	return name + suffix
}

// isStataStr reports names like str12, which Stata reserves for types.
func isStataStr(low string) bool {
	if !strings.HasPrefix(low, "str") || len(low) == 3 {
		return false
	}
	_, err := strconv.Atoi(low[3:])
	return err == nil
}

// namer hands out unique names; SPSS names are case-insensitive, so
// uniqueness is too.
type namer struct{ used map[string]bool }

func newNamer() *namer { return &namer{used: map[string]bool{}} }

func (n *namer) take(want string) string {
	base := cleanName(want)
	name := fit(base, "")
	for i := 2; n.used[strings.ToLower(name)]; i++ {
		name = fit(base, "_"+strconv.Itoa(i))
	}
	n.used[strings.ToLower(name)] = true
	return name
}
