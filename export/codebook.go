package export

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
)

// CodebookNoCleaning is the codebook's cleaning line of an export made
// without a cleaning verdict (Options.Cleaning nil).
const CodebookNoCleaning = "cleaning: none applied yet"

// Codebook writes the codebook of an export of form fv with opts, as
// Markdown (format "markdown" or "md") or as one self-contained HTML page
// ("html"): every variable with its type, labels in every language of the
// form, classification and values, the multiple response sets, the
// questions left out, and the cleaning and weighting applied. With
// opts.Cleaning the codebook says which responses the export holds;
// without it st, when not nil, is asked for the form's last cleaning run,
// which is named as not applied.
func Codebook(ctx context.Context, st store.Store, fv store.FormVersion, f *form.Form, w io.Writer, format string, opts Options) error {
	d, err := NewDictionary(fv, f, opts)
	if err != nil {
		return err
	}
	cb := codebook{D: d, Generated: opts.Now}
	if cb.Generated.IsZero() {
		cb.Generated = time.Now()
	}
	cb.Languages = d.Languages
	if len(cb.Languages) == 0 {
		cb.Languages = []string{""}
	}
	cb.Cleaning = []string{CodebookNoCleaning + ": every stored response is exported, and no cleaning flag is included."}
	if c := opts.Cleaning; c != nil {
		if c.KeepInvalid {
			cb.Cleaning = []string{"cleaning: every stored response is exported; variable valid is cleaning's verdict with the analysts' overrides (1 valid, 0 invalid) and invalid_reasons the rules' reason codes (CONTRACTS.md §3)"}
		} else {
			cb.Cleaning = []string{"cleaning: only the valid responses are exported (the rules of CONTRACTS.md §3 with the analysts' overrides)"}
		}
		if c.Run != "" {
			cb.Cleaning = append(cb.Cleaning, "cleaning run: "+c.Run)
		}
	} else if st != nil {
		c, err := st.Cleaning(ctx, fv.FormID)
		switch {
		case err == nil:
			cb.Cleaning = append(cb.Cleaning, fmt.Sprintf("The form's last cleaning run (%s, %s, %d responses) is not applied to this export.",
				c.RuleVersion, c.CleanedAt.UTC().Format(time.RFC3339), c.Collected))
		case !errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("export: codebook: %w", err)
		}
	}
	if d.Weight >= 0 {
		cb.Weighting = fmt.Sprintf("weighting: variable %s — %s", d.Variables[d.Weight].Name, d.Weighting)
	} else {
		cb.Weighting = "weighting: none (unweighted)"
	}
	cb.Privacy = "de-identified: questions classified personal or sensitive are left out, and so is the client column"
	switch {
	case opts.IncludePersonal && opts.IncludeClient:
		cb.Privacy = "identified: includes questions classified personal or sensitive, and the client column"
	case opts.IncludePersonal:
		cb.Privacy = "includes questions classified personal or sensitive; the client column is left out"
	case opts.IncludeClient:
		cb.Privacy = "questions classified personal or sensitive are left out; the client column is included"
	}
	for i := range d.Variables {
		cb.Rows = append(cb.Rows, cb.row(i))
	}
	switch format {
	case "markdown", "md", "":
		return cb.markdown(w)
	case "html":
		if err := codebookHTML.Execute(w, &cb); err != nil {
			return fmt.Errorf("export: codebook: %w", err)
		}
		return nil
	}
	return fmt.Errorf("export: unknown codebook format %q (markdown or html)", format)
}

type codebook struct {
	D         *Dictionary
	Generated time.Time
	Languages []string
	Cleaning  []string
	Weighting string
	Privacy   string
	Rows      []codebookRow
}

type codebookRow struct {
	N              int
	Name           string
	Type           string
	Labels         []string // per language
	Classification string
	Source         string
	Values         []codebookValue
}

type codebookValue struct {
	Code   string
	Name   string
	Labels []string
}

// typeNames say how each kind is stored in each format.
var typeNames = map[Kind]string{
	KindString:    "string (SPSS A, Stata str/strL, Parquet UTF-8)",
	KindCode:      "categorical code (numeric; Parquet INT32)",
	KindDichotomy: "0/1 (numeric; Parquet INT32)",
	KindInteger:   "integer (numeric; Parquet INT64)",
	KindDecimal:   "decimal (numeric; Parquet DOUBLE)",
	KindDate:      "date (SPSS DATE, Stata %td, Parquet DATE)",
	KindDateTime:  "date-time (SPSS DATETIME, Stata %tc, Parquet TIMESTAMP UTC)",
}

func (cb *codebook) labels(t form.Text) []string {
	out := make([]string, len(cb.Languages))
	for i, l := range cb.Languages {
		if l == "" {
			out[i] = t.In("")
			continue
		}
		out[i] = t[l]
		if out[i] == "" {
			out[i] = t.In(l)
		}
	}
	return out
}

func (cb *codebook) row(i int) codebookRow {
	v := &cb.D.Variables[i]
	r := codebookRow{
		N: i + 1, Name: v.Name, Type: typeNames[v.Kind], Labels: cb.labels(v.Labels),
		Classification: v.Classification,
	}
	switch v.Source {
	case "meta":
		r.Source = "response"
	case "weight":
		r.Source = "weighting"
		r.Classification = "—"
	case "validity":
		r.Source = "cleaning"
	case "question":
		r.Source = "question " + v.Question.Name + " (" + v.Question.Type + ")"
	case "choice":
		r.Source = "question " + v.Question.Name + " (select_multiple), choice " + v.Choice.Name
		r.Values = []codebookValue{
			{Code: "1", Labels: repeat("选中 / chosen", len(cb.Languages))},
			{Code: "0", Labels: repeat("未选 / not chosen", len(cb.Languages))},
		}
	}
	if v.ValueLabels >= 0 {
		for _, l := range cb.D.ValueLabels[v.ValueLabels].Labels {
			r.Values = append(r.Values, codebookValue{Code: strconv.Itoa(l.Value), Name: l.Name, Labels: cb.labels(l.Labels)})
		}
	}
	return r
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func (cb *codebook) markdown(w io.Writer) error {
	var b strings.Builder
	d := cb.D
	title := d.Title
	if title == "" {
		title = d.FormID
	}
	fmt.Fprintf(&b, "# Codebook: %s\n\n", mdText(title))
	fmt.Fprintf(&b, "- form: `%s`, version %s, revision %d\n", d.FormID, mdText(d.Version), d.Revision)
	fmt.Fprintf(&b, "- generated: %s\n", cb.Generated.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "- labels written in the files: %s\n", mdText(d.Language))
	fmt.Fprintf(&b, "- date-times in SPSS and Stata: wall-clock time in %s; Parquet timestamps are UTC\n", d.Location)
	fmt.Fprintf(&b, "- %s\n", cb.Privacy)
	for _, c := range cb.Cleaning {
		fmt.Fprintf(&b, "- %s\n", mdText(c))
	}
	fmt.Fprintf(&b, "- %s\n", mdText(cb.Weighting))
	b.WriteString("- missing: an unanswered or not-relevant question, and an answer that fails its question's type or choices (a name not in the list — for a multiple-choice question every one of its 0/1 variables —, or not a number or date where one is expected) are missing, never dropped or guessed (SPSS system-missing, Stata `.`, Parquet null)\n")

	b.WriteString("\n## Variables\n\n| # | name | type | ")
	for _, l := range cb.Languages {
		fmt.Fprintf(&b, "label %s | ", mdText(langHeading(l)))
	}
	b.WriteString("classification | source |\n|---:|---|---|")
	for range cb.Languages {
		b.WriteString("---|")
	}
	b.WriteString("---|---|\n")
	for _, r := range cb.Rows {
		fmt.Fprintf(&b, "| %d | `%s` | %s | ", r.N, r.Name, mdText(r.Type))
		for _, l := range r.Labels {
			fmt.Fprintf(&b, "%s | ", mdText(l))
		}
		fmt.Fprintf(&b, "%s | %s |\n", mdText(r.Classification), mdText(r.Source))
	}

	b.WriteString("\n## Values\n")
	for _, r := range cb.Rows {
		if len(r.Values) == 0 || r.Values[0].Name == "" {
			continue // dichotomies are described once, below
		}
		fmt.Fprintf(&b, "\n### `%s`\n\n| code | choice | ", r.Name)
		for _, l := range cb.Languages {
			fmt.Fprintf(&b, "label %s | ", mdText(langHeading(l)))
		}
		b.WriteString("\n|---:|---|")
		for range cb.Languages {
			b.WriteString("---|")
		}
		b.WriteString("\n")
		for _, v := range r.Values {
			fmt.Fprintf(&b, "| %s | `%s` | ", v.Code, v.Name)
			for _, l := range v.Labels {
				fmt.Fprintf(&b, "%s | ", mdText(l))
			}
			b.WriteString("\n")
		}
	}
	if len(d.Sets) > 0 {
		b.WriteString("\n## Multiple response sets\n\nEach select_multiple question is one 0/1 variable per choice (1 = chosen, 0 = not chosen, missing = unanswered), grouped in SPSS as a multiple dichotomy set counting the value 1.\n\n| set | question | label | variables |\n|---|---|---|---|\n")
		for _, s := range d.Sets {
			var names []string
			for _, i := range s.Variables {
				names = append(names, "`"+d.Variables[i].Name+"`")
			}
			fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s |\n", s.Name, s.Question.Name, mdText(s.Label), strings.Join(names, " "))
		}
	}
	b.WriteString("\n## Questions left out\n\n")
	if len(d.Omitted) == 0 {
		b.WriteString("None.\n")
	}
	for _, o := range d.Omitted {
		fmt.Fprintf(&b, "- `%s` (%s): %s\n", o.Question.Name, mdText(o.Question.Label.In(d.Language)), o.Reason)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("export: codebook: %w", err)
	}
	return nil
}

func langHeading(l string) string {
	if l == "" {
		return ""
	}
	return "(" + form.LanguageCode(l) + ")"
}

// mdText keeps a value inside its table cell.
func mdText(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}

var codebookHTML = template.Must(template.New("codebook").Funcs(template.FuncMap{
	"lang": langHeading,
	"utc":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"varname": func(d *Dictionary, i int) string {
		return d.Variables[i].Name
	},
	"title": func(d *Dictionary) string {
		if d.Title != "" {
			return d.Title
		}
		return d.FormID
	},
	"qlabel": func(d *Dictionary, q *form.Question) string { return q.Label.In(d.Language) },
}).Parse(`<!doctype html>
<html lang="zh">
<head>
<meta charset="utf-8">
<title>Codebook: {{title .D}}</title>
<style>
body { font-family: system-ui, "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
code { font-size: .95em; }
</style>
</head>
<body>
<h1>Codebook: {{title .D}}</h1>
<ul>
<li>form: <code>{{.D.FormID}}</code>, version {{.D.Version}}, revision {{.D.Revision}}</li>
<li>generated: {{utc .Generated}}</li>
<li>labels written in the files: {{.D.Language}}</li>
<li>date-times in SPSS and Stata: wall-clock time in {{.D.Location}}; Parquet timestamps are UTC</li>
<li>{{.Privacy}}</li>
{{range .Cleaning}}<li>{{.}}</li>
{{end}}<li>{{.Weighting}}</li>
<li>missing: an unanswered or not-relevant question, and an answer that fails its question's type or choices (a name not in the list — for a multiple-choice question every one of its 0/1 variables —, or not a number or date where one is expected) are missing, never dropped or guessed (SPSS system-missing, Stata <code>.</code>, Parquet null)</li>
</ul>
<h2>Variables</h2>
<table>
<tr><th>#</th><th>name</th><th>type</th>{{range .Languages}}<th>label {{lang .}}</th>{{end}}<th>classification</th><th>source</th><th>values</th></tr>
{{range .Rows}}<tr><td>{{.N}}</td><td><code>{{.Name}}</code></td><td>{{.Type}}</td>{{range .Labels}}<td>{{.}}</td>{{end}}<td>{{.Classification}}</td><td>{{.Source}}</td><td>{{range .Values}}{{.Code}}{{if .Name}} <code>{{.Name}}</code>{{end}}{{range .Labels}} {{.}}{{end}}<br>{{end}}</td></tr>
{{end}}</table>
{{if .D.Sets}}<h2>Multiple response sets</h2>
<p>Each select_multiple question is one 0/1 variable per choice (1 = chosen, 0 = not chosen, missing = unanswered), grouped in SPSS as a multiple dichotomy set counting the value 1.</p>
<table>
<tr><th>set</th><th>question</th><th>label</th><th>variables</th></tr>
{{range .D.Sets}}<tr><td><code>{{.Name}}</code></td><td><code>{{.Question.Name}}</code></td><td>{{.Label}}</td><td>{{range .Variables}}<code>{{varname $.D .}}</code> {{end}}</td></tr>
{{end}}</table>
{{end}}<h2>Questions left out</h2>
{{if .D.Omitted}}<ul>
{{range .D.Omitted}}<li><code>{{.Question.Name}}</code> ({{qlabel $.D .Question}}): {{.Reason}}</li>
{{end}}</ul>{{else}}<p>None.</p>{{end}}
</body>
</html>
`))
