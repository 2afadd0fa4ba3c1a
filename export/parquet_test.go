package export

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/parquet-go/parquet-go"
)

// TestParquetReadByArrow reads the Parquet file back with Apache Arrow's
// Go implementation, which shares no code with the parquet-go writer:
// the schema (names, order, types), every value, and the labels in the
// key-value metadata.
func TestParquetReadByArrow(t *testing.T) {
	st, fv, f := fixture(t)
	// Two rows a group, so that the three rows span two row groups.
	path := exportFile(t, st, fv, f, Options{Format: "parquet", RowGroupRows: 2})

	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	if n := rdr.NumRowGroups(); n != 2 {
		t.Errorf("%d row groups, want 2", n)
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	table, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer table.Release()
	if table.NumRows() != int64(len(fixtureRows)) {
		t.Fatalf("%d rows, want %d", table.NumRows(), len(fixtureRows))
	}
	var names []string
	types := map[string]string{}
	for _, fd := range table.Schema().Fields() {
		names = append(names, fd.Name)
		types[fd.Name] = fd.Type.String()
	}
	if !slices.Equal(names, wantNames) {
		t.Errorf("columns =\n%q\nwant\n%q", names, wantNames)
	}
	for name, want := range map[string]string{
		"instance_id": "utf8", "started": "timestamp[ms, tz=UTC]", "gender": "int32",
		"services_web": "int32", "age": "int64", "score": "float64", "visit_date": "date32",
	} {
		if types[name] != want {
			t.Errorf("%s: arrow type %s, want %s", name, types[name], want)
		}
	}

	// Values, read column by column through the arrays' own accessors.
	got := map[string][]any{}
	for i, fd := range table.Schema().Fields() {
		col := table.Column(i)
		for _, chunk := range col.Data().Chunks() {
			for j := 0; j < chunk.Len(); j++ {
				if chunk.IsNull(j) {
					got[fd.Name] = append(got[fd.Name], nil)
					continue
				}
				var v any
				switch a := chunk.(type) {
				case *array.String:
					v = a.Value(j)
				case *array.Int32:
					v = float64(a.Value(j))
				case *array.Int64:
					v = float64(a.Value(j))
				case *array.Float64:
					v = a.Value(j)
				case *array.Date32:
					v = a.Value(j).ToTime().Format(time.DateOnly)
				case *array.Timestamp:
					v = a.Value(j).ToTime(arrow.Millisecond).UTC().Format("2006-01-02T15:04:05.000")
				default:
					t.Fatalf("%s: unexpected array %T", fd.Name, chunk)
				}
				got[fd.Name] = append(got[fd.Name], v)
			}
		}
	}
	for name, want := range wantValues {
		if !slices.Equal(got[name], want) {
			t.Errorf("%s = %#v, want %#v", name, got[name], want)
		}
	}

	kv := rdr.MetaData().KeyValueMetadata()
	var labels map[string]string
	var valueLabels map[string]map[string]string
	for key, dst := range map[string]any{ParquetKeyLabels: &labels, ParquetKeyValueLabels: &valueLabels} {
		s := kv.FindValue(key)
		if s == nil {
			t.Fatalf("no %s metadata", key)
		}
		if err := json.Unmarshal([]byte(*s), dst); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
	}
	for name, want := range wantLabels {
		if labels[name] != want {
			t.Errorf("%s: label %q, want %q", name, labels[name], want)
		}
	}
	for name, want := range wantValueLabels {
		if !equalMaps(valueLabels[name], want) {
			t.Errorf("%s: value labels %v, want %v", name, valueLabels[name], want)
		}
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestParquetSchema checks the file's own schema as parquet-go reads it:
// every column optional, with the logical types the codebook promises.
func TestParquetSchema(t *testing.T) {
	st, fv, f := fixture(t)
	path := exportFile(t, st, fv, f, Options{Format: "parquet"})
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	info, err := fh.Stat()
	if err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(fh, info.Size())
	if err != nil {
		t.Fatal(err)
	}
	if pf.NumRows() != int64(len(fixtureRows)) {
		t.Errorf("%d rows, want %d", pf.NumRows(), len(fixtureRows))
	}
	want := map[string]string{
		"instance_id": "STRING", "started": "TIMESTAMP(isAdjustedToUTC=true,unit=MILLIS)",
		"gender": "INT(32,true)", "age": "INT(64,true)", "visit_date": "DATE", "score": "",
	}
	for _, fd := range pf.Schema().Fields() {
		if !fd.Optional() {
			t.Errorf("%s is not optional", fd.Name())
		}
		w, ok := want[fd.Name()]
		if !ok {
			continue
		}
		got := ""
		if lt := fd.Type().LogicalType(); lt != nil {
			got = lt.String()
		}
		if got != w {
			t.Errorf("%s: logical type %q, want %q", fd.Name(), got, w)
		}
	}
}
