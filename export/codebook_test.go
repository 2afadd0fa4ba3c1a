package export

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/govsurvey/govsurvey/store"
)

func TestCodebook(t *testing.T) {
	st, fv, f := fixture(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		format string
		opts   Options
		want   []string
		absent []string
	}{
		{
			name: "markdown, de-identified", format: "markdown",
			want: []string{
				"# Codebook: 混合题型测试",
				"| 5 | `gender` | categorical code (numeric; Parquet INT32) | 您的性别 | Gender | public | question gender (select_one) |",
				"| 11 | `comment` | string (SPSS A, Stata str/strL, Parquet UTF-8) | 意见和建议 | Comments | internal |",
				"| 1 | `male` | 男 | Male |",
				"| 3 | `unsafe` | 不安全 | Unsafe |",
				"| `$services` | `services` | 使用过的服务（多选） | `services_web` `services_app` `services_counter` `services_phone_line` |",
				"choice fraud_and_scams_online",
				"- `phone` (手机号): classified personal (de-identified export)",
				"- `id_number` (身份证号): classified sensitive (de-identified export)",
				"- cleaning: none applied yet",
				"- weighting: none (unweighted)",
			},
			absent: []string{"`client`", "| `phone` |"},
		},
		{
			name: "html, identified and weighted", format: "html",
			opts: Options{IncludePersonal: true, IncludeClient: true, Weights: &Weights{
				Method: "raking on gender <test>", Of: func(string) (float64, bool) { return 1, true },
			}},
			want: []string{
				"<title>Codebook: 混合题型测试</title>",
				"<td><code>phone</code></td>", "<td>personal</td>", "<td><code>client</code></td>",
				"weighting: variable weight — raking on gender &lt;test&gt;",
				"cleaning: none applied yet",
				"<p>None.</p>",
			},
			absent: []string{"<test>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			tt.opts.Now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			if err := Codebook(ctx, st, fv, f, &b, tt.format, tt.opts); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("codebook lacks %q", w)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(out, a) {
					t.Errorf("codebook has %q", a)
				}
			}
			if t.Failed() {
				t.Log(out)
			}
		})
	}

	// A cleaning run is named, and said not to be applied.
	if _, err := st.ReplaceFlags(ctx, store.Cleaning{FormID: fv.FormID, RuleVersion: "clean/1", Settings: []byte("{}"), Collected: 3}, nil); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Codebook(ctx, st, fv, f, &b, "md", Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "last cleaning run (clean/1, ") || !strings.Contains(b.String(), "3 responses) is not applied to this export") {
		t.Errorf("codebook does not name the cleaning run:\n%s", b.String())
	}
}
