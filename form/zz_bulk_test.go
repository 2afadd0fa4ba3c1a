package form_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/govsurvey/govsurvey/form"
)

func TestBulkScratch(t *testing.T) {
	fh, _ := os.Open("../../shared/xlsform-corpus/all_inline_test_forms.jsonl")
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var agree, onlyUs, onlyPy, n int
	msgs := map[string]int{}
	seen := map[string]int{}
	for sc.Scan() {
		var d struct {
			Test string `json:"test"`
			MD   string `json:"md"`
			PA   struct {
				OK    bool   `json:"ok"`
				Error string `json:"error"`
			} `json:"pyxform_actual"`
		}
		json.Unmarshal(sc.Bytes(), &d)
		if d.MD == "" {
			continue
		}
		n++
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s panic %v", d.Test, r)
				}
			}()
			_, err = form.Parse("test_name.md", []byte(d.MD))
		}()
		switch {
		case (err == nil) == d.PA.OK:
			agree++
		case err == nil:
			onlyUs++
			msgs["US  "+firstWords(d.PA.Error)]++
		default:
			onlyPy++
			e := err.(*form.Error)
			m := e.Problems[0].Message
			if strings.HasPrefix(m, "invalid parameters") { m = m[:strings.Index(m, ";")] }
			if i := strings.IndexAny(m, "0123456789"); i > 0 {
				m = m[:i]
			}
			msgs["PY  "+m]++
			if strings.HasPrefix(m, "range parameter") || strings.HasPrefix(m, "trigger") || strings.HasPrefix(m, "name ") || strings.HasPrefix(m,"decimal")|| strings.HasPrefix(m,"text") { if seen[m[:5]] < 3 { seen[m[:5]]++; fmt.Println("-----", e.Problems[0], "\n", d.MD) } }
		}
	}
	fmt.Println("n", n, "agree", agree, "onlyUs", onlyUs, "onlyPy", onlyPy)
	var keys []string
	for k := range msgs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return msgs[keys[i]] > msgs[keys[j]] })
	for _, k := range keys {
		fmt.Println(msgs[k], k)
	}
}

func firstWords(s string) string {
	if len(s) > 90 {
		s = s[:90]
	}
	return s
}
