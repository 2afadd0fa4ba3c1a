package publish

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/govsurvey/govsurvey/store"
)

// Open-data API keys and their quotas. A key is a random secret shown once
// when it is made; the store keeps its SM3 hash. Each key has a quota of
// requests per day and per minute and the hours of the day it may be
// used, in the office's time zone (China Standard Time: Asia/Shanghai has
// kept UTC+8 without daylight saving since 1991, so a fixed zone is exact
// and needs no time-zone database). Counting is in the database, so the
// quota holds across serve nodes.

// Office is the time zone of days and allowed hours.
var Office = time.FixedZone("Asia/Shanghai", 8*3600)

const openKeyPrefix = "gsk_"

// NewOpenKey returns a new key's secret (to hand over once) and its hash
// (to store).
func NewOpenKey() (secret, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("publish: new key: %w", err)
	}
	secret = openKeyPrefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, HashOpenKey(secret), nil
}

// HashOpenKey is the stored form of a key's secret.
func HashOpenKey(secret string) string { return digest([]byte(secret)) }

// KeyFromRequest reads a key from "Authorization: Bearer …" or
// "X-API-Key: …".
func KeyFromRequest(r *http.Request) string {
	if k := strings.TrimSpace(r.Header.Get("X-API-Key")); k != "" {
		return k
	}
	h := r.Header.Get("Authorization")
	if scheme, tok, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(tok)
	}
	return ""
}

// Gate decides whether an open-API request may go ahead.
type Gate struct {
	Store store.PublishStore
	Now   func() time.Time // default time.Now; tests inject a clock
}

// Decision is the gate's answer: Status 200 to go ahead, else the status
// to answer with (401 no or bad key, 403 outside the allowed hours, 429
// over quota), a code and message for the error body, and the headers to
// send either way (RateLimit-Limit, -Remaining, -Reset and, when refused,
// Retry-After).
type Decision struct {
	Status  int
	Code    string
	Message string
	Key     store.OpenKey // the key, when one was found
	Header  http.Header
}

// Check counts one request of r's key if its quota allows it.
func (g *Gate) Check(ctx context.Context, r *http.Request) (Decision, error) {
	d := Decision{Status: http.StatusOK, Header: http.Header{}}
	secret := KeyFromRequest(r)
	if secret == "" {
		return deny(d, http.StatusUnauthorized, "no_key", "send an open-data API key (Authorization: Bearer KEY or X-API-Key: KEY)"), nil
	}
	k, err := g.Store.OpenKey(ctx, HashOpenKey(secret))
	if errors.Is(err, store.ErrNotFound) {
		return deny(d, http.StatusUnauthorized, "bad_key", "unknown API key"), nil
	}
	if err != nil {
		return d, err
	}
	d.Key = k
	if !k.RevokedAt.IsZero() {
		return deny(d, http.StatusUnauthorized, "bad_key", "this API key has been revoked"), nil
	}
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	t := now().In(Office)
	if h := t.Hour(); h < k.HoursFrom || h >= k.HoursTo {
		// Retry at the next opening hour.
		open := time.Date(t.Year(), t.Month(), t.Day(), k.HoursFrom, 0, 0, 0, Office)
		if !open.After(t) {
			open = open.AddDate(0, 0, 1)
		}
		d.Header.Set("Retry-After", strconv.Itoa(ceilSeconds(open.Sub(t))))
		return deny(d, http.StatusForbidden, "outside_hours",
			fmt.Sprintf("this API key may be used from %02d:00 to %02d:00 China Standard Time", k.HoursFrom, k.HoursTo)), nil
	}
	day, minute := t.Format("2006-01-02"), t.Format("2006-01-02T15:04")
	dayN, minN, ok, err := g.Store.UseOpenKey(ctx, k.Hash, day, k.PerDay, minute, k.PerMinute)
	if err != nil {
		return d, err
	}
	endOfDay := time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, Office).Sub(t)
	endOfMinute := t.Truncate(time.Minute).Add(time.Minute).Sub(t)
	type window struct {
		limit, used, seconds int
		reset                time.Duration
	}
	var ws []window
	if k.PerMinute > 0 {
		ws = append(ws, window{k.PerMinute, minN, 60, endOfMinute})
	}
	if k.PerDay > 0 {
		ws = append(ws, window{k.PerDay, dayN, 86400, endOfDay})
	}
	if len(ws) > 0 {
		// The window nearest exhaustion is the one reported; on a tie
		// the one that resets last, since that is when a client
		// would really be free again.
		w := ws[0]
		for _, x := range ws[1:] {
			if rx, rw := x.limit-x.used, w.limit-w.used; rx < rw || (rx == rw && x.reset > w.reset) {
				w = x
			}
		}
		d.Header.Set("RateLimit-Limit", strconv.Itoa(w.limit))
		d.Header.Set("RateLimit-Remaining", strconv.Itoa(max(0, w.limit-w.used)))
		d.Header.Set("RateLimit-Reset", strconv.Itoa(ceilSeconds(w.reset)))
		var pol []string
		for _, x := range ws {
			pol = append(pol, fmt.Sprintf("%d;w=%d", x.limit, x.seconds))
		}
		d.Header.Set("RateLimit-Policy", strings.Join(pol, ", "))
	}
	if !ok {
		var wait time.Duration
		msg := ""
		if k.PerDay > 0 && dayN >= k.PerDay {
			wait, msg = endOfDay, fmt.Sprintf("daily quota of %d requests used up", k.PerDay)
		} else {
			wait, msg = endOfMinute, fmt.Sprintf("rate limit of %d requests a minute reached", k.PerMinute)
		}
		d.Header.Set("Retry-After", strconv.Itoa(ceilSeconds(wait)))
		return deny(d, http.StatusTooManyRequests, "quota", msg), nil
	}
	return d, nil
}

func deny(d Decision, status int, code, msg string) Decision {
	d.Status, d.Code, d.Message = status, code, msg
	return d
}

// ceilSeconds rounds up to whole seconds, at least 1.
func ceilSeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}
