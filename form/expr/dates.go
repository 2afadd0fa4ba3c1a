package expr

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Dates have no type of their own here: they are strings in ISO 8601 form
// (what a date question stores) that convert to days since 1970-01-01 when
// used as numbers (see ParseNumber), and numbers of days convert back with
// date() and format-date(). Everything is computed with integer calendar
// arithmetic, never the host time zone, so the server and the browser
// (expr.js does the same steps) agree to the millisecond. A date-time
// without an offset is taken as UTC; one with an offset keeps it, so
// format-date('2019-07-01T10:20:30+08:00', '%H') is "10".

// dateTimeRE accepts "YYYY-MM-DD" and "YYYY-MM-DDTHH:MM[:SS[.fff…]][Z|±HH[[:]MM]]".
var dateTimeRE = regexp.MustCompile(`^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?$`)

const msPerDay = 86400000

// civil is a parsed date or date-time: the calendar day and the
// milliseconds into it, both in the offset it was written in.
type civil struct {
	days   int64 // days since 1970-01-01 of the calendar date as written
	ms     int64 // milliseconds since midnight, 0 for a date
	offset int64 // minutes east of UTC, 0 for a date or no offset
}

func parseDateTime(s string) (civil, bool) {
	m := dateTimeRE.FindStringSubmatch(s)
	if m == nil {
		return civil{}, false
	}
	num := func(t string) int64 { n, _ := strconv.ParseInt(t, 10, 64); return n }
	y, mo, d := num(m[1]), num(m[2]), num(m[3])
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) {
		return civil{}, false
	}
	c := civil{days: daysFromCivil(y, mo, d)}
	if m[4] == "" {
		return c, true
	}
	h, mi, sec := num(m[4]), num(m[5]), num(m[6])
	if h > 23 || mi > 59 || sec > 59 {
		return civil{}, false
	}
	frac := (m[7] + "000")[:3] // milliseconds; finer digits are dropped
	c.ms = ((h*60+mi)*60+sec)*1000 + num(frac)
	if z := m[8]; z != "" && z != "Z" {
		digits := strings.ReplaceAll(z[1:], ":", "")
		oh, om := num(digits[:2]), int64(0)
		if len(digits) == 4 {
			om = num(digits[2:])
		}
		if oh > 23 || om > 59 {
			return civil{}, false
		}
		c.offset = oh*60 + om
		if z[0] == '-' {
			c.offset = -c.offset
		}
	}
	return c, true
}

// epochDays is the instant as (fractional) days since 1970-01-01T00:00Z.
func (c civil) epochDays() float64 {
	return float64(c.days*msPerDay+c.ms-c.offset*60000) / msPerDay
}

// civilFromNumber reads a number of days since the epoch (fractional for a
// time of day, UTC). Days far outside years 0–9999 are refused.
func civilFromNumber(x float64) (civil, bool) {
	if math.IsNaN(x) || math.Abs(x) > 3e6 {
		return civil{}, false
	}
	ms := int64(math.Floor(x * msPerDay))
	days := floorDiv(ms, msPerDay)
	return civil{days: days, ms: ms - days*msPerDay}, true
}

// civilFromValue reads a date from a value: a number of days, a string
// holding a number, or an ISO date or date-time string.
func civilFromValue(v Value) (civil, bool) {
	if v.kind == KindString {
		if !xpathNumber.MatchString(v.s) {
			return parseDateTime(strings.Trim(v.s, " \t\r\n"))
		}
	}
	return civilFromNumber(v.Number())
}

func (c civil) date() (y, m, d int64) { return civilFromDays(c.days) }

func (c civil) inRange() bool {
	y, _, _ := c.date()
	return y >= 0 && y <= 9999
}

func (c civil) dateString() string {
	y, m, d := c.date()
	return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2)
}

var (
	monthAbbr = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
	dayAbbr   = [...]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
)

// formatDate implements the ODK format-date codes %Y %y %m %n %b %d %e %H
// %h %M %S %3 %a and %%; any other %x is copied as written.
func formatDate(c civil, format string) string {
	y, m, d := c.date()
	h, mi, s, ms := c.ms/3600000, c.ms/60000%60, c.ms/1000%60, c.ms%1000
	var b strings.Builder
	rs := []rune(format)
	for i := 0; i < len(rs); i++ {
		if rs[i] != '%' || i+1 == len(rs) {
			b.WriteRune(rs[i])
			continue
		}
		i++
		switch rs[i] {
		case 'Y':
			b.WriteString(pad(y, 4))
		case 'y':
			b.WriteString(pad(y%100, 2))
		case 'm':
			b.WriteString(pad(m, 2))
		case 'n':
			b.WriteString(strconv.FormatInt(m, 10))
		case 'b':
			b.WriteString(monthAbbr[m-1])
		case 'd':
			b.WriteString(pad(d, 2))
		case 'e':
			b.WriteString(strconv.FormatInt(d, 10))
		case 'H':
			b.WriteString(pad(h, 2))
		case 'h':
			b.WriteString(strconv.FormatInt(h, 10))
		case 'M':
			b.WriteString(pad(mi, 2))
		case 'S':
			b.WriteString(pad(s, 2))
		case '3':
			b.WriteString(pad(ms, 3))
		case 'a':
			b.WriteString(dayAbbr[floorMod(c.days+4, 7)]) // 1970-01-01 was a Thursday
		case '%':
			b.WriteByte('%')
		default:
			b.WriteRune('%')
			b.WriteRune(rs[i])
		}
	}
	return b.String()
}

// today and now render the environment's clock in its own location, as a
// date question and ODK's now() would.
func todayString(t time.Time) string { return t.Format("2006-01-02") }
func nowString(t time.Time) string   { return t.Format("2006-01-02T15:04:05.000-07:00") }

func pad(n int64, width int) string {
	s := strconv.FormatInt(n, 10)
	for len(s) < width {
		s = "0" + s
	}
	return s
}

func daysIn(y, m int64) int64 {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil and civilFromDays convert between proleptic Gregorian
// dates and days since 1970-01-01 (H. Hinnant's algorithms).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func civilFromDays(z int64) (y, m, d int64) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }
