package collect

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/govsurvey/govsurvey/form"
	"github.com/govsurvey/govsurvey/security"
	"github.com/govsurvey/govsurvey/store"
)

// Collector takes web and API submissions: it checks them against their
// form, stores them through group commit, issues receipts, and withdraws
// responses by receipt. It also holds the anti-abuse state (rate limits).
// Safe for concurrent use; Close it to store what is queued.
type Collector struct {
	st        store.Store
	forms     *Forms
	key       security.PseudonymKey
	committer *Committer
	ipLimit   *Limiter
	cliLimit  *Limiter
	loc       *time.Location
	now       func() time.Time
	log       *slog.Logger
	withdrawn func(ctx context.Context, r store.Response)
	keepRaw   bool

	mu     sync.Mutex
	latest map[string]latestForm

	// schedules caches each compiled form's schedule (a *form.Form does
	// not change once compiled): reading the settings by name on every
	// submission cost a few microseconds of the hot path.
	schedules sync.Map // *form.Form → scheduleOf
}

// scheduleOf is a form's schedule as read by ScheduleOf.
type scheduleOf struct {
	s   Schedule
	err error
}

// latestForm is a form's latest revision as last looked up: a submission
// does not read the form from the database each time.
type latestForm struct {
	fv  store.FormVersion // without Definition and Source
	f   *form.Form
	at  time.Time
	err error // a schedule that does not parse
}

// latestTTL is how long a looked-up latest revision is trusted: a new
// revision, or a changed close time, takes effect within it.
const latestTTL = 2 * time.Second

// Limit is one rate limit: Burst requests at once, then Rate a second.
type Limit struct {
	Rate  float64 // tokens a second; negative turns the limit off
	Burst int
}

// Options configure a Collector.
type Options struct {
	Store        store.Store
	Forms        *Forms // optional: a cache shared with the web pages
	PseudonymKey security.PseudonymKey
	Commit       CommitOptions
	// IPLimit and ClientLimit bound submissions per network address and
	// per client cookie. The defaults suit a national survey pushed in
	// chat groups: many respondents may share one address behind NAT, so
	// the address limit is generous (burst 60, then 1 a second); a
	// browser gets a burst of 10, then one a minute.
	IPLimit, ClientLimit Limit
	// Location reads open_at/close_at written without a zone, and is the
	// respondent's today() on the server; default UTC+8 (China).
	Location *time.Location
	Now      func() time.Time
	Logger   *slog.Logger
	// Withdrawn is told of every withdrawal, for the audit log. Until the
	// audit chain is wired in, nil logs it.
	Withdrawn func(ctx context.Context, r store.Response)
	// KeepRaw stores each submission's body (Meta.Raw) with the response
	// as an archive (store.Response.Raw, sealed by the store). Off by
	// default: it is a second copy of personal answers (data
	// minimisation) and costs ingest time; serve --keep-raw turns it on.
	KeepRaw bool
}

// NewCollector starts a Collector.
func NewCollector(opts Options) (*Collector, error) {
	if opts.Store == nil {
		return nil, errors.New("collect: a collector needs a store")
	}
	if !usableKey(opts.PseudonymKey) {
		return nil, errors.New("collect: a collector needs a pseudonym key")
	}
	if opts.Forms == nil {
		opts.Forms = NewForms(opts.Store)
	}
	if opts.Location == nil {
		opts.Location = time.FixedZone("CST", 8*3600)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.IPLimit == (Limit{}) {
		opts.IPLimit = Limit{Rate: 1, Burst: 60}
	}
	if opts.ClientLimit == (Limit{}) {
		opts.ClientLimit = Limit{Rate: 1.0 / 60, Burst: 10}
	}
	c := &Collector{
		st:        opts.Store,
		forms:     opts.Forms,
		key:       opts.PseudonymKey,
		committer: NewCommitter(opts.Store, opts.Commit),
		ipLimit:   NewLimiter(opts.IPLimit.Rate, opts.IPLimit.Burst, 0),
		cliLimit:  NewLimiter(opts.ClientLimit.Rate, opts.ClientLimit.Burst, 0),
		loc:       opts.Location,
		now:       opts.Now,
		log:       opts.Logger,
		withdrawn: opts.Withdrawn,
		keepRaw:   opts.KeepRaw,
		latest:    make(map[string]latestForm),
	}
	if c.withdrawn == nil {
		c.withdrawn = func(ctx context.Context, r store.Response) {
			c.log.LogAttrs(ctx, slog.LevelInfo, "response withdrawn",
				slog.String("form", r.FormID), slog.String("instance_id", r.InstanceID))
		}
	}
	return c, nil
}

// usableKey tells a real key from the zero PseudonymKey, with which
// security.Pseudonym refuses (panics) to hash.
func usableKey(k security.PseudonymKey) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	security.Pseudonym(k, security.PurposeClient, "")
	return true
}

// Close stores the submissions already queued and stops taking new ones.
func (c *Collector) Close() { c.committer.Close() }

// CommitStats are the group commit's counters.
func (c *Collector) CommitStats() *CommitStats { return c.committer.Stats() }

// PseudonymKey returns the installation's pseudonym key, generating and
// storing it at first start. It lives in the store so that every serve
// node on one database computes the same client keys.
func PseudonymKey(ctx context.Context, st store.Store) (security.PseudonymKey, error) {
	fresh := make([]byte, security.PseudonymKeySize)
	rand.Read(fresh)
	b, err := st.Secret(ctx, "pseudonym_key", fresh)
	clear(fresh)
	if err != nil {
		return security.PseudonymKey{}, err
	}
	text := hex.EncodeToString(b)
	clear(b)
	// security takes keys as text (from the environment or a file).
	key, err := security.LoadPseudonymKey(func(name string) (string, bool) {
		return text, name == "pseudonym_key"
	}, "pseudonym_key")
	if err != nil {
		return security.PseudonymKey{}, fmt.Errorf("collect: stored pseudonym key: %w", err)
	}
	return key, nil
}

// ClientKey is the pseudonymous client key stored with a response for the
// first-party cookie value cookie ("" without a cookie).
func (c *Collector) ClientKey(cookie string) string {
	if cookie == "" {
		return ""
	}
	return security.Pseudonym(c.key, security.PurposeClient, cookie)
}

// Allow applies the rate limits to one submission from addr by the
// browser whose client key (ClientKey) is client; either may be empty.
// The address is counted by a keyed hash of it, kept in memory only and
// never stored; the client key is one already.
func (c *Collector) Allow(addr netip.Addr, client string) (bool, time.Duration) {
	now := c.now()
	if addr.IsValid() {
		if ok, wait := c.ipLimit.Allow(security.Pseudonym(c.key, security.PurposeRateLimit, "ip:"+addrKey(addr)), now); !ok {
			return false, wait
		}
	}
	if client != "" {
		if ok, wait := c.cliLimit.Allow(client, now); !ok {
			return false, wait
		}
	}
	return true, 0
}

// addrKey is the address a rate limit counts: an IPv6 host usually holds
// a whole /64, so that is one key.
func addrKey(a netip.Addr) string {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// Meta is what the HTTP layer knows of a submission besides its body.
type Meta struct {
	Client  string // ClientKey of the first-party client cookie, "" if none
	Agent   string // AgentClass of the User-Agent
	Channel string // "web" or "api"
	// Raw is the submission body as received, stored (sealed) as the
	// response's archive only when Options.KeepRaw says so.
	Raw []byte
}

// Receipt answers a submission.
type Receipt struct {
	InstanceID string `json:"instance_id"`
	Receipt    string `json:"receipt,omitempty"`
	// Created is false when the instance was already stored: nothing new
	// was stored and Receipt is the one given the first time.
	Created bool `json:"-"`
}

// Form returns the latest revision of a form and its compiled model,
// looked up at most every couple of seconds.
func (c *Collector) Form(ctx context.Context, formID string) (store.FormVersion, *form.Form, error) {
	lf, err := c.latestForm(ctx, formID)
	return lf.fv, lf.f, err
}

func (c *Collector) latestForm(ctx context.Context, formID string) (latestForm, error) {
	now := time.Now()
	c.mu.Lock()
	lf, ok := c.latest[formID]
	c.mu.Unlock()
	if ok && now.Sub(lf.at) < latestTTL {
		return lf, nil
	}
	fv, f, err := c.forms.Latest(ctx, formID)
	if err != nil {
		return latestForm{}, err
	}
	fv.Definition, fv.Source = nil, nil
	lf = latestForm{fv: fv, f: f, at: now}
	c.mu.Lock()
	if len(c.latest) > 10000 { // form ids are the caller's; keep the map small
		clear(c.latest)
	}
	c.latest[formID] = lf
	c.mu.Unlock()
	return lf, nil
}

// Location is where the collector reads open_at and close_at written
// without a zone (Options.Location): the console shows and edits them in
// it, so that both read a schedule alike.
func (c *Collector) Location() *time.Location { return c.loc }

// Open reports whether form f takes submissions at now; when not, the
// error is a *ClosedError saying why.
func (c *Collector) Open(f *form.Form) error {
	v, ok := c.schedules.Load(f)
	if !ok {
		s, err := ScheduleOf(f, c.loc)
		v, _ = c.schedules.LoadOrStore(f, scheduleOf{s, err})
	}
	s, err := v.(scheduleOf).s, v.(scheduleOf).err
	if err != nil {
		c.log.Warn("form schedule does not parse; the form is closed until it is fixed", "form", f.ID, "err", err)
		return &ClosedError{FormID: f.ID}
	}
	return s.Check(f.ID, c.now())
}

// Submit checks a submission against its form and stores it durably. It
// returns the receipt; Created false means the instance id was already
// stored and nothing changed (whatever this submission holds, and even
// after the form has closed). Errors: store.ErrNotFound (no such form or
// revision), *ClosedError, *BadRequestError, *FieldError (422),
// *InvitationError (403), *QuotaFullError (409), ErrBusy/ErrClosed (503),
// or a store error.
func (c *Collector) Submit(ctx context.Context, formID string, s Submission, m Meta) (Receipt, error) {
	id, ok := InstanceID(s.InstanceID)
	if !ok {
		code := "bad_type"
		if s.InstanceID == "" {
			code = "required"
		}
		return Receipt{}, &FieldError{Field: "instance_id", Code: code}
	}
	rc, err := c.submit(ctx, formID, id, s, m)
	var closed *ClosedError
	var field *FieldError
	var invite *InvitationError
	var quota *QuotaFullError
	if errors.As(err, &closed) || errors.As(err, &field) || errors.As(err, &invite) || errors.As(err, &quota) {
		// A retry whose first attempt was stored but whose answer was lost
		// must still learn its receipt, even if the form has closed since
		// or the retry differs: the instance id is what counts.
		if stored, serr := c.st.Response(ctx, formID, id); serr == nil {
			return Receipt{InstanceID: id, Receipt: stored.Receipt}, nil
		}
	}
	return rc, err
}

func (c *Collector) submit(ctx context.Context, formID, id string, s Submission, m Meta) (Receipt, error) {
	lf, err := c.latestForm(ctx, formID)
	if err != nil {
		return Receipt{}, err
	}
	if err := c.Open(lf.f); err != nil {
		return Receipt{}, err
	}
	f, rev := lf.f, lf.fv.Revision
	if s.Revision != 0 && s.Revision != rev {
		if f, err = c.forms.Revision(ctx, formID, s.Revision); err != nil {
			return Receipt{}, err
		}
		rev = s.Revision
	}
	started, ok := clientTime(s.Started)
	if !ok {
		return Receipt{}, &FieldError{Field: "started", Code: "bad_type"}
	}
	ended, ok := clientTime(s.Ended)
	if !ok {
		return Receipt{}, &FieldError{Field: "ended", Code: "bad_type"}
	}
	received := c.now()
	answers, err := validate(f, s.Answers, received.In(c.loc))
	if err != nil {
		return Receipt{}, err
	}
	defer answers.release()
	enc := answers.encode()
	para, err := cleanParadata(s.Paradata, m.Agent)
	if err != nil {
		return Receipt{}, err
	}
	channel := m.Channel
	if channel == "" {
		channel = "api"
	}
	r := store.Response{
		FormID: formID, Revision: rev, InstanceID: id,
		Started: started, Ended: ended, SubmittedAt: received,
		Client: m.Client, Channel: channel, Answers: enc,
		Honeypot: s.Honeypot != "", Receipt: NewReceipt(), Paradata: para,
	}
	if c.keepRaw {
		r.Raw = m.Raw
	}
	already, took, err := c.admit(ctx, lf.f, formID, id, s.Token, answers.answer)
	if err != nil {
		return Receipt{}, err
	}
	if already != nil {
		return Receipt{InstanceID: id, Receipt: already.Receipt}, nil
	}
	added, err := c.committer.Add(ctx, r)
	if err != nil {
		if took && (errors.Is(err, ErrBusy) || errors.Is(err, ErrClosed)) {
			// Never queued, so never stored: give the slots back.
			if _, rerr := c.st.ReleaseQuotas(context.WithoutCancel(ctx), formID, id); rerr != nil {
				c.log.Warn("releasing quota slots of a refused submission", "form", formID, "instance_id", id, "err", rerr)
			}
		}
		return Receipt{}, err
	}
	if added {
		return Receipt{InstanceID: id, Receipt: r.Receipt, Created: true}, nil
	}
	stored, err := c.st.Response(ctx, formID, id)
	if err != nil {
		return Receipt{}, err
	}
	return Receipt{InstanceID: id, Receipt: stored.Receipt}, nil
}

// ErrBadReceipt is a receipt that cannot be one (a typing mistake).
var ErrBadReceipt = errors.New("collect: not a receipt code")

// Withdraw withdraws the response with the given receipt (as typed):
// its answers are erased and it leaves the analysis. Withdrawing twice is
// not an error. An unknown receipt is store.ErrNotFound.
func (c *Collector) Withdraw(ctx context.Context, receipt string) (store.Response, error) {
	code, ok := ParseReceipt(receipt)
	if !ok {
		return store.Response{}, ErrBadReceipt
	}
	r, err := c.st.WithdrawResponse(ctx, code)
	if err != nil {
		return store.Response{}, err
	}
	c.withdrawn(ctx, r)
	// Its quota slots go back, here and not in the same transaction: a
	// failure leaves them taken, and withdrawing again (not an error)
	// frees them then.
	if _, err := c.st.ReleaseQuotas(ctx, r.FormID, r.InstanceID); err != nil {
		return store.Response{}, fmt.Errorf("collect: withdrawal of %s: %w", r.InstanceID, err)
	}
	return r, nil
}
