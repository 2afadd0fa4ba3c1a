package collect

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
)

// ImportSource is the file to import. Import reads it twice (check, then
// store), so it is a path or re-readable content; Spool turns a stream such
// as standard input into one.
type ImportSource struct {
	Name string        // how problems name the file (Name:line); default Path, else "input"
	Path string        // a file to read
	Data io.ReadSeeker // content to read when Path is empty
}

// ImportOptions tune Import. The zero value is fine.
type ImportOptions struct {
	BatchSize int            // responses per store transaction; default 1000
	Now       time.Time      // submitted_at of rows without one; default the time Import starts
	Progress  func(Progress) // called at most a few times a second, and once at the end of each pass; nil: none
}

// ImportResult counts what an import did.
type ImportResult struct {
	Rows           int // data rows in the file (rows with every cell empty are skipped, not counted)
	Added          int // responses stored by this import
	AlreadyPresent int // rows whose instance_id was already stored, or came earlier in the file
	// Refused counts rows rejected on their own. A CSV import never refuses
	// single rows: a file with any bad row is refused whole (a *FileError)
	// and nothing of it is stored, so this is 0; it is here for sources
	// that can refuse one response and keep the others.
	Refused int
}

// LineProblem is one thing wrong with an import file.
type LineProblem struct {
	Line    int // physical line of the file, from 1; a quoted cell spanning lines counts them all
	Message string
}

// FileError refuses a whole file: nothing of it was stored. Its message is
// one "file:line: message" line per problem, as CONTRACTS.md §2 asks.
type FileError struct {
	File     string
	Problems []LineProblem // in file order, at most maxProblems
	More     int           // problems found beyond those listed
}

// maxProblems bounds the list, so a file that is wrong on every line
// neither floods the terminal nor holds memory in proportion to its size.
const maxProblems = 100

func (e *FileError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s:%d: %s", e.File, p.Line, p.Message)
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "\n%s: and %d more problems", e.File, e.More)
	}
	return b.String()
}

func (e *FileError) add(line int, msg string) {
	if len(e.Problems) >= maxProblems {
		e.More++
		return
	}
	e.Problems = append(e.Problems, LineProblem{Line: line, Message: msg})
}

func (e *FileError) count() int { return len(e.Problems) + e.More }

// Import loads a CONTRACTS.md §2 wide CSV file into form revision fv (f is
// its compiled form). The file is read twice: the first pass checks every
// row in constant memory and, if anything is wrong, returns a *FileError
// listing the problems and stores nothing; the second pass stores the rows
// in batches. Instance ids already stored, or repeated within the file,
// change nothing and are counted as already present.
//
// The format, beyond §2:
//   - instance_id "uuid:X" is stored as "X" (ODK writes the prefix, other
//     tools do not; both mean the same submission).
//   - Times are RFC 3339 and stored in UTC. Empty started/ended are unknown;
//     an empty submitted_at is the time of the import.
//   - Questions are found by name or by any trailing part of their group
//     path ("demo/gender", "gender"); ODK Central's "demo-gender" too.
//   - select_multiple is one column of space-separated names, or
//     KoboToolbox's 0/1 columns "field/choice" (1/0, TRUE/FALSE, true/false,
//     empty = 0), or both, which must then agree. The names are stored in
//     list order; names that are not choices are kept as given, after them.
//   - KoboToolbox and ODK Central meta columns are understood:
//     meta/instanceID, _uuid and KEY stand for instance_id when it is
//     missing; _submission_time (UTC, offset optional) and SubmissionDate
//     for submitted_at; the form's start/end fields under their own names
//     for started/ended. Their other bookkeeping columns (_id, _index,
//     __version__, _validation_status, any "_…", "meta/…", "formhub/…") are
//     ignored. Any other column that is not a question is refused.
//   - A row whose cells are all empty is skipped.
//
// If storing fails part-way (a database error, a cancelled ctx), the batches
// already stored stay; importing the same file again completes it.
func Import(ctx context.Context, st store.Store, fv store.FormVersion, f *form.Form, src ImportSource, opts ImportOptions) (ImportResult, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	name := src.Name
	if name == "" {
		name = src.Path
	}
	if name == "" {
		name = "input"
	}
	rs, size, closeSrc, err := src.open()
	if err != nil {
		return ImportResult{}, err
	}
	defer closeSrc()

	imp := &importer{
		name: name, f: f, fv: fv, now: opts.Now.UTC(),
		tick: progressTicker{fn: opts.Progress, total: size},
	}

	// Pass 1: check everything, keep nothing.
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return ImportResult{}, fmt.Errorf("collect: %s: %w", name, err)
	}
	fe := &FileError{File: name}
	rows, err := imp.pass(ctx, rs, "checking", fe, nil)
	if err != nil {
		return ImportResult{}, err
	}
	if fe.count() > 0 {
		return ImportResult{}, fe
	}

	// Pass 2: the same reading, now storing.
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return ImportResult{}, fmt.Errorf("collect: %s: %w", name, err)
	}
	res := ImportResult{Rows: rows}
	batch := make([]store.Response, 0, opts.BatchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		added, err := st.AddResponses(ctx, batch)
		if err != nil {
			return fmt.Errorf("collect: %s: storing responses: %w", name, err)
		}
		for _, a := range added {
			if a {
				res.Added++
			} else {
				res.AlreadyPresent++
			}
		}
		batch = batch[:0]
		return nil
	}
	fe2 := &FileError{File: name}
	_, err = imp.pass(ctx, rs, "storing", fe2, func(r store.Response) error {
		batch = append(batch, r)
		if len(batch) == opts.BatchSize {
			return flush()
		}
		return nil
	})
	if err == nil && fe2.count() > 0 {
		err = fmt.Errorf("collect: %s changed while it was being imported (re-import it to complete):\n%w", name, fe2)
	}
	if err == nil {
		err = flush()
	}
	return res, err
}

// Spool copies r (standard input, say) to a temporary file, because Import
// reads its source twice. remove closes and deletes the file.
func Spool(name string, r io.Reader) (src ImportSource, remove func() error, err error) {
	tmp, err := os.CreateTemp("", "govsurvey-import-*.csv")
	if err != nil {
		return ImportSource{}, nil, fmt.Errorf("collect: spooling %s: %w", name, err)
	}
	remove = func() error {
		tmp.Close()
		return os.Remove(tmp.Name())
	}
	if _, err := io.Copy(tmp, r); err != nil {
		remove()
		return ImportSource{}, nil, fmt.Errorf("collect: spooling %s: %w", name, err)
	}
	return ImportSource{Name: name, Data: tmp}, remove, nil
}

func (src ImportSource) open() (rs io.ReadSeeker, size int64, closeFn func() error, err error) {
	if src.Path != "" {
		fh, err := os.Open(src.Path)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("collect: %w", err)
		}
		st, err := fh.Stat()
		if err != nil {
			fh.Close()
			return nil, 0, nil, fmt.Errorf("collect: %w", err)
		}
		return fh, st.Size(), fh.Close, nil
	}
	if src.Data == nil {
		return nil, 0, nil, errors.New("collect: import source has neither a path nor data")
	}
	size, err = src.Data.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("collect: %s: %w", src.Name, err)
	}
	return src.Data, size, func() error { return nil }, nil
}

// importer reads one file against one form revision.
type importer struct {
	name string
	f    *form.Form
	fv   store.FormVersion
	now  time.Time
	tick progressTicker
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// pass reads the whole file once. Problems go to fe; emit (nil in the
// checking pass) gets each good response. The returned error is for
// failures that are not the file's fault: I/O, ctx, emit.
func (imp *importer) pass(ctx context.Context, r io.Reader, phase string, fe *FileError, emit func(store.Response) error) (rows int, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var offset int64
	if b, _ := br.Peek(len(utf8BOM)); bytes.Equal(b, utf8BOM) {
		br.Discard(len(utf8BOM))
		offset = int64(len(utf8BOM))
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // counted here, for a clearer message
	cr.ReuseRecord = true

	header, err := cr.Read()
	var pe *csv.ParseError
	switch {
	case err == io.EOF:
		fe.add(1, "empty file: no header row")
		return 0, nil
	case errors.As(err, &pe):
		fe.add(pe.Line, pe.Err.Error())
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("collect: %s: %w", imp.name, err)
	}
	header = slices.Clone(header)
	for i, h := range header {
		if !utf8.ValidString(h) {
			fe.add(badUTF8Line(cr, i, h), fmt.Sprintf("invalid UTF-8 in the name of column %d", i+1))
			header[i] = strings.ToValidUTF8(h, "\uFFFD")
		}
	}
	lay, hps := resolveHeader(imp.f, header)
	for _, p := range hps {
		line, _ := cr.FieldPos(p.col)
		fe.add(line, p.msg)
	}

	rb := newRowBuilder(imp, lay)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if errors.As(err, &pe) {
			fe.add(pe.Line, pe.Err.Error())
			continue
		}
		if err != nil {
			return rows, fmt.Errorf("collect: %s: %w", imp.name, err)
		}
		if allEmpty(rec) {
			continue
		}
		rows++
		if rows%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return rows, err
			}
		}
		imp.tick.update(phase, offset+cr.InputOffset(), rows)
		line, _ := cr.FieldPos(0)
		if len(rec) != len(lay.cols) {
			fe.add(line, fmt.Sprintf("row has %d columns, the header has %d", len(rec), len(lay.cols)))
			continue
		}
		resp, ok := rb.response(rec, cr, fe)
		if !ok || emit == nil {
			continue
		}
		if err := emit(resp); err != nil {
			return rows, err
		}
	}
	imp.tick.done(phase, offset+cr.InputOffset(), rows)
	return rows, nil
}

func allEmpty(rec []string) bool {
	for _, s := range rec {
		if s != "" {
			return false
		}
	}
	return true
}

// badUTF8Line is the physical line of the first invalid byte of field i of
// the record just read: its first line plus the line breaks before the byte.
func badUTF8Line(cr *csv.Reader, i int, s string) int {
	line, _ := cr.FieldPos(i)
	for j := 0; j < len(s); {
		r, n := utf8.DecodeRuneInString(s[j:])
		if r == utf8.RuneError && n <= 1 {
			return line + strings.Count(s[:j], "\n")
		}
		j += n
	}
	return line
}

// rowBuilder turns records into responses, reusing its buffers between rows.
type rowBuilder struct {
	imp     *importer
	lay     *layout
	vals    []string   // per field: the value of its column
	picked  [][]string // per select_multiple field: choices marked 1, in column order
	answers form.Answers
}

func newRowBuilder(imp *importer, lay *layout) *rowBuilder {
	return &rowBuilder{
		imp: imp, lay: lay,
		vals:    make([]string, len(lay.fields)),
		picked:  make([][]string, len(lay.fields)),
		answers: make(form.Answers, len(lay.fields)),
	}
}

func (rb *rowBuilder) response(rec []string, cr *csv.Reader, fe *FileError) (store.Response, bool) {
	lay := rb.lay
	before := fe.count()
	add := func(col int, msg string) {
		line, _ := cr.FieldPos(col)
		fe.add(line, msg)
	}
	r := store.Response{
		FormID:   rb.imp.fv.FormID,
		Revision: rb.imp.fv.Revision,
		Channel:  "import",
	}
	hasID := false
	for i := range rb.picked {
		rb.picked[i] = rb.picked[i][:0]
	}
	for i, v := range rec {
		c := &lay.cols[i]
		if c.kind == colIgnore {
			continue
		}
		if !utf8.ValidString(v) {
			fe.add(badUTF8Line(cr, i, v), fmt.Sprintf("invalid UTF-8 in column '%s'", c.header))
			continue
		}
		switch c.kind {
		case colInstanceID:
			r.InstanceID, hasID = strings.TrimPrefix(v, "uuid:"), true
		case colStarted, colEnded, colSubmittedAt:
			t, err := parseTime(v, c.localTime)
			if err != nil {
				add(i, fmt.Sprintf("column '%s': %s is not an RFC 3339 time", c.header, quoteShort(v)))
				continue
			}
			switch c.kind {
			case colStarted:
				r.Started = t
			case colEnded:
				r.Ended = t
			default:
				r.SubmittedAt = t
			}
		case colClient:
			r.Client = v
		case colField:
			rb.vals[c.field] = v
		case colChoice:
			on, ok := parseBit(v)
			if !ok {
				add(i, fmt.Sprintf("column '%s': %s is not 0 or 1", c.header, quoteShort(v)))
				continue
			}
			if on {
				rb.picked[c.field] = append(rb.picked[c.field], c.choice)
			}
		}
	}
	if hasID && r.InstanceID == "" {
		add(0, "empty instance_id")
	}
	if r.SubmittedAt.IsZero() {
		r.SubmittedAt = rb.imp.now
	}

	// Both shapes of one select_multiple must say the same thing.
	for i, c := range lay.cols {
		if c.kind != colChoice || lay.whole[c.field] < 0 {
			continue
		}
		on, ok := parseBit(rec[i])
		if !ok || !utf8.ValidString(rec[i]) {
			continue // already reported
		}
		whole := lay.cols[lay.whole[c.field]].header
		listed := slices.Contains(strings.Fields(rb.vals[c.field]), c.choice)
		switch {
		case on && !listed:
			add(i, fmt.Sprintf("column '%s' says %s was chosen but column '%s' does not list it", c.header, c.choice, whole))
		case !on && listed:
			add(i, fmt.Sprintf("column '%s' says %s was not chosen but column '%s' lists it", c.header, c.choice, whole))
		}
	}

	clear(rb.answers)
	for i, q := range lay.fields {
		if lay.whole[i] < 0 && !lay.split[i] {
			continue
		}
		v := rb.vals[i]
		if q.Type == "select_multiple" {
			if lay.whole[i] >= 0 {
				v = joinMultiple(lay.choice[i], strings.Fields(v))
			} else {
				v = joinMultiple(lay.choice[i], rb.picked[i])
			}
		}
		if v != "" {
			rb.answers[q.Name] = v
		}
		rb.vals[i] = ""
	}
	if fe.count() > before {
		return store.Response{}, false
	}
	b, err := rb.imp.f.EncodeAnswers(rb.answers)
	if err != nil {
		add(0, err.Error())
		return store.Response{}, false
	}
	r.Answers = b
	return r, true
}

// parseTime reads an RFC 3339 time; with localTime, one without an offset
// is read as UTC. Empty is the zero time.
func parseTime(s string, localTime bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil && localTime {
		t, err = time.Parse("2006-01-02T15:04:05.999999999", s)
	}
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// parseBit reads a KoboToolbox 0/1 cell.
func parseBit(s string) (on, ok bool) {
	switch {
	case s == "1", strings.EqualFold(s, "true"):
		return true, true
	case s == "", s == "0", strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// joinMultiple writes select_multiple names in list order (ODK convention),
// each choice once; names that are not choices follow, as given.
func joinMultiple(order map[string]int, names []string) string {
	rank := func(n string) int {
		if j, ok := order[n]; ok {
			return j
		}
		return len(order)
	}
	last, sorted := -1, true
	for _, n := range names {
		j := rank(n)
		if j < last || (j == last && j < len(order)) {
			sorted = false
			break
		}
		last = j
	}
	if sorted {
		return strings.Join(names, " ")
	}
	out := slices.Clone(names)
	slices.SortStableFunc(out, func(a, b string) int { return cmp.Compare(rank(a), rank(b)) })
	out = slices.CompactFunc(out, func(a, b string) bool { return a == b && rank(a) < len(order) })
	return strings.Join(out, " ")
}

func quoteShort(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max]) + "…"
	}
	return fmt.Sprintf("%q", s)
}
