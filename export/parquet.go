package export

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/store"
)

// Parquet key-value metadata keys. Values are JSON.
const (
	ParquetKeyForm        = "govsurvey.form"            // {"form_id","version","revision","language","weighting"}
	ParquetKeyLabels      = "govsurvey.variable_labels" // {"variable": "label", …}
	ParquetKeyValueLabels = "govsurvey.value_labels"    // {"variable": {"1": "label", …}, …}
	ParquetKeySets        = "govsurvey.multiple_response_sets"
)

// Parquet column types: select_one codes and dichotomies are INT32,
// integers INT64, decimals and weights DOUBLE, dates DATE, date-times
// TIMESTAMP(MILLIS, UTC), strings UTF-8 BYTE_ARRAY; every column is
// optional (null = missing).
func parquetNode(k Kind) parquet.Node {
	switch k {
	case KindCode, KindDichotomy:
		return parquet.Optional(parquet.Int(32))
	case KindInteger:
		return parquet.Optional(parquet.Int(64))
	case KindDecimal:
		return parquet.Optional(parquet.Leaf(parquet.DoubleType))
	case KindDate:
		return parquet.Optional(parquet.Date())
	case KindDateTime:
		return parquet.Optional(parquet.Timestamp(parquet.Millisecond))
	}
	return parquet.Optional(parquet.String())
}

// ParquetSchema is the schema of a dictionary's Parquet file, its columns in
// the dictionary's order.
func ParquetSchema(d *Dictionary) *parquet.Schema {
	g := make(orderedGroup, len(d.Variables))
	for i, v := range d.Variables {
		g[i] = &orderedField{Node: parquetNode(v.Kind), name: v.Name}
	}
	return parquet.NewSchema(d.FormID, g)
}

func writeParquet(ctx context.Context, st store.Store, fv store.FormVersion, f *form.Form, d *Dictionary, w io.Writer, opts Options, tick *progressTicker) (rows int, err error) {
	meta, err := parquetMetadata(d)
	if err != nil {
		return 0, err
	}
	groupRows := opts.RowGroupRows
	if groupRows <= 0 {
		groupRows = 1 << 16
	}
	options := []parquet.WriterOption{
		ParquetSchema(d),
		parquet.Compression(&parquet.Snappy),
		parquet.MaxRowsPerRowGroup(int64(groupRows)),
		parquet.CreatedBy("govsurvey", "export", ""),
	}
	for _, kv := range meta {
		options = append(options, parquet.KeyValueMetadata(kv[0], kv[1]))
	}
	pw := parquet.NewWriter(w, options...)
	conv := newConverter(st, fv, f, d, opts, false)
	kinds := kindsOf(d)
	// Rows are handed to the writer in batches, their slices reused.
	const batch = 256
	slots := make([]parquet.Row, batch)
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		_, err := pw.WriteRows(slots[:n])
		n = 0
		return err
	}
	err = st.EachResponse(ctx, store.ResponseFilter{FormID: fv.FormID}, func(r store.Response) error {
		row, err := conv.convert(ctx, r)
		if err != nil {
			return err
		}
		pr := slots[n][:0]
		for i, v := range row {
			pv := parquetValue(kinds[i], v)
			if pv.IsNull() {
				pr = append(pr, pv.Level(0, 0, i))
			} else {
				pr = append(pr, pv.Level(0, 1, i))
			}
		}
		slots[n] = pr
		tick.invalid = conv.Invalid
		n++
		rows++
		tick.update("writing", rows)
		if n == batch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return rows, fmt.Errorf("export: parquet: %w", err)
	}
	if err := pw.Close(); err != nil {
		return rows, fmt.Errorf("export: parquet: %w", err)
	}
	return rows, nil
}

func parquetValue(k Kind, v value) parquet.Value {
	if k == KindString {
		if v.str == "" {
			return parquet.NullValue()
		}
		return parquet.ByteArrayValue([]byte(v.str))
	}
	if math.IsNaN(v.num) {
		return parquet.NullValue()
	}
	switch k {
	case KindCode, KindDichotomy:
		return parquet.Int32Value(int32(v.num))
	case KindInteger:
		return parquet.Int64Value(int64(v.num))
	case KindDate:
		return parquet.Int32Value(int32(math.Floor(v.num / 86400)))
	case KindDateTime:
		return parquet.Int64Value(int64(math.Round(v.num * 1000)))
	}
	return parquet.DoubleValue(v.num)
}

// parquetMetadata is the labels as key-value metadata, in key order.
func parquetMetadata(d *Dictionary) ([][2]string, error) {
	formMeta := map[string]any{
		"form_id": d.FormID, "version": d.Version, "revision": d.Revision,
		"language": d.Language, "weighting": d.Weighting,
	}
	labels := map[string]string{}
	values := map[string]map[string]string{}
	for _, v := range d.Variables {
		labels[v.Name] = v.Label
		if v.ValueLabels >= 0 {
			m := map[string]string{}
			for _, l := range d.ValueLabels[v.ValueLabels].Labels {
				m[strconv.Itoa(l.Value)] = l.Label
			}
			values[v.Name] = m
		}
	}
	type set struct {
		Label     string   `json:"label"`
		Question  string   `json:"question"`
		Variables []string `json:"variables"`
	}
	sets := map[string]set{}
	for _, s := range d.Sets {
		var names []string
		for _, i := range s.Variables {
			names = append(names, d.Variables[i].Name)
		}
		sets[s.Question.Name] = set{Label: s.Label, Question: s.Question.Name, Variables: names}
	}
	var out [][2]string
	for _, kv := range []struct {
		key string
		v   any
	}{{ParquetKeyForm, formMeta}, {ParquetKeyLabels, labels}, {ParquetKeyValueLabels, values}, {ParquetKeySets, sets}} {
		b, err := json.Marshal(kv.v)
		if err != nil {
			return nil, fmt.Errorf("export: parquet metadata: %w", err)
		}
		out = append(out, [2]string{kv.key, string(b)})
	}
	return out, nil
}

// orderedGroup is a Parquet group whose columns keep the order given;
// parquet.Group sorts them by name.
type orderedGroup []parquet.Field

func (g orderedGroup) ID() int                     { return 0 }
func (g orderedGroup) Type() parquet.Type          { return parquet.Group{}.Type() }
func (g orderedGroup) Optional() bool              { return false }
func (g orderedGroup) Repeated() bool              { return false }
func (g orderedGroup) Required() bool              { return true }
func (g orderedGroup) Leaf() bool                  { return false }
func (g orderedGroup) Fields() []parquet.Field     { return g }
func (g orderedGroup) Encoding() encoding.Encoding { return nil }
func (g orderedGroup) Compression() compress.Codec { return nil }
func (g orderedGroup) String() string {
	var b strings.Builder
	b.WriteString("message {")
	for _, f := range g {
		b.WriteString(" " + f.Name() + ";")
	}
	b.WriteString(" }")
	return b.String()
}

func (g orderedGroup) GoType() reflect.Type {
	fields := make([]reflect.StructField, len(g))
	for i, f := range g {
		fields[i] = reflect.StructField{
			Name: "F" + strconv.Itoa(i),
			Type: f.GoType(),
			Tag:  reflect.StructTag(`parquet:"` + f.Name() + `"`),
		}
	}
	return reflect.StructOf(fields)
}

type orderedField struct {
	parquet.Node
	name string
}

func (f *orderedField) Name() string { return f.name }

func (f *orderedField) Value(base reflect.Value) reflect.Value {
	if base.Kind() == reflect.Map {
		return base.MapIndex(reflect.ValueOf(f.name))
	}
	return base.FieldByName(f.name)
}
