package report

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/govsurvey/govsurvey/stats"
)

// pct formats a percentage (or percentage points) for every output: the
// text, the tables, the charts and the workbook all show what it returns.
func pct(x stats.Num) string {
	f := float64(x)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "–"
	}
	s := strconv.FormatFloat(f, 'f', 2, 64)
	if s == "-0.00" {
		s = "0.00"
	}
	return s
}

// count formats a count with thousands separators ("172,075"); weighted
// counts are rounded to whole responses.
func count(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	n := int64(math.Round(x))
	neg := n < 0
	if neg {
		n = -n
	}
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// pvalue formats a p-value for text and tables.
func pvalue(p stats.Num) string {
	f := float64(p)
	switch {
	case math.IsNaN(f):
		return "–"
	case f < 0.001:
		return "< 0.001"
	}
	return strconv.FormatFloat(f, 'f', 3, 64)
}

// cst is the time zone the report's dates are written in (Beijing time).
var cst = time.FixedZone("UTC+8", 8*3600)

func date(t time.Time, lang string) string {
	t = t.In(cst)
	if lang == "en" {
		return t.Format("2 January 2006")
	}
	return t.Format("2006年1月2日")
}

// chineseNumeral is the chapter number as written in headings (一, 二, …).
func chineseNumeral(n int) string {
	digits := []string{"零", "一", "二", "三", "四", "五", "六", "七", "八", "九"}
	switch {
	case n < 10:
		return digits[n]
	case n < 20:
		if n == 10 {
			return "十"
		}
		return "十" + digits[n-10]
	case n < 100:
		s := digits[n/10] + "十"
		if n%10 != 0 {
			s += digits[n%10]
		}
		return s
	}
	return strconv.Itoa(n)
}
