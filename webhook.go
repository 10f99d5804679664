package hookgate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hookgate/hookgate/internal/filter"
)

// WebhookStatus is the delivery state of an outgoing webhook.
type WebhookStatus string

// Webhook statuses. Enabled is separate: a disabled webhook receives nothing
// and keeps nothing, whatever its stored status; the API shows it as
// StatusDisabled (see EffectiveStatus).
const (
	StatusActive      WebhookStatus = "active"      // events are delivered
	StatusPaused      WebhookStatus = "paused"      // paused by an admin: events are kept, not delivered
	StatusError       WebhookStatus = "error"       // auto-paused after repeated failed deliveries: events are kept
	StatusUnconfirmed WebhookStatus = "unconfirmed" // no endpoint has confirmed the subscription yet: events are kept
	// StatusPendingConfirmation: some endpoints are confirmed and receive
	// events; the others wait for their confirmation, their events kept.
	StatusPendingConfirmation WebhookStatus = "pending_confirmation"
	// StatusDisabled is shown for a webhook with enabled false; it is never stored.
	StatusDisabled WebhookStatus = "disabled"
)

// Valid reports whether s is a known status.
func (s WebhookStatus) Valid() bool {
	switch s {
	case StatusActive, StatusPaused, StatusError, StatusUnconfirmed, StatusPendingConfirmation, StatusDisabled:
		return true
	}
	return false
}

// Holding reports whether s keeps every event of the webhook (paused or
// auto-paused), whatever its endpoints' confirmation.
func (s WebhookStatus) Holding() bool { return s == StatusPaused || s == StatusError }

// Reason explains status s of webhook id to people: why events are (not)
// delivered. It is the status_reason shown when none was given with the
// change (a pause without a reason, a confirmation state).
func (s WebhookStatus) Reason(id string) string {
	switch s {
	case StatusPaused:
		return "paused by an admin: events are kept, not delivered, until POST /v1/webhooks/" + id + "/resume"
	case StatusError:
		return "paused automatically after repeated failed deliveries: events are kept until POST /v1/webhooks/" + id + "/resume"
	case StatusUnconfirmed:
		return "waiting for the receiver to confirm the subscription (it must follow the SubscribeURL it was sent; " +
			"POST /v1/webhooks/" + id + "/confirmation/resend sends it again): events are kept until then"
	case StatusPendingConfirmation:
		return "some endpoints have not confirmed the subscription yet (they must follow the SubscribeURL they were sent; " +
			"POST /v1/webhooks/" + id + "/confirmation/resend sends it again): their events are kept until then, the confirmed endpoints receive theirs"
	case StatusDisabled:
		return "disabled: events are neither delivered nor kept until the webhook is enabled again (PATCH /v1/webhooks/" + id + " {\"enabled\": true})"
	}
	return ""
}

// ConfirmationSent is the outcome of sending the confirmation request to
// one endpoint.
type ConfirmationSent struct {
	EndpointID string `json:"endpoint_id"`
	URL        string `json:"url"`
	OK         bool   `json:"ok"`
	StatusCode int    `json:"status_code,omitempty"`
	// Message is "HTTP 200" on success, else "Failed: <status>" or "Failed: <error class>".
	Message string `json:"message"`
}

// Confirmation is where an endpoint stands in the subscription handshake.
type Confirmation string

// Endpoint confirmation states. An endpoint of a webhook that needs no
// confirmation has none ("").
const (
	ConfirmationPending   Confirmation = "pending"   // its URL has not confirmed: its events are kept
	ConfirmationConfirmed Confirmation = "confirmed" // its URL followed the SubscribeURL it was sent
)

// Endpoint is one URL a webhook delivers to.
type Endpoint struct {
	ID      string `json:"id"`
	URL     string `json:"url"`
	Enabled bool   `json:"enabled"`
	// Confirmation is set when the webhook needs the confirmation
	// handshake: each URL confirms on its own, and a new or changed URL is
	// pending until it does.
	Confirmation Confirmation `json:"confirmation,omitempty"`
	ConfirmedAt  *time.Time   `json:"confirmed_at,omitempty"`
	// RateLimit is the most deliveries per second sent to this endpoint,
	// held across every worker process (docs/delivery.md#rate-limits); 0
	// is unlimited. Fractions are allowed: 0.5 is one every two seconds.
	RateLimit float64 `json:"rate_limit,omitempty"`
	// Headers are sent with every request to this endpoint (an API key its
	// gateway wants, say). Reserved names are refused (ReservedHeader); the
	// values are sealed at rest and hidden in the delivery log.
	Headers map[string]string `json:"headers,omitempty"`
}

// MaxRateLimit bounds an endpoint's rate_limit (deliveries per second); a
// receiver that takes more needs no limit from hookgate.
const MaxRateLimit = 10000

// MinRateLimit is the lowest rate_limit other than 0 (unlimited): one
// delivery every 100 seconds.
const MinRateLimit = 0.01

// Pending reports whether e waits for its confirmation (its events are kept).
func (e *Endpoint) Pending() bool { return e.Confirmation == ConfirmationPending }

// RetryPolicy overrides the global retry schedule for one webhook. Nil fields
// fall back to the configured defaults.
type RetryPolicy struct {
	Delays []Duration `json:"delays,omitempty"`
}

// Webhook is an outgoing webhook: a set of endpoints subscribed to events,
// with the format they want and the secret deliveries are signed with.
type Webhook struct {
	ID          string     `json:"id"`
	Tenant      string     `json:"tenant"`
	System      bool       `json:"system"`
	Owner       string     `json:"owner,omitempty"`
	Name        string     `json:"name"`
	Description string     `json:"description,omitempty"`
	Endpoints   []Endpoint `json:"endpoints"`
	Events      []string   `json:"events"`
	Format      string     `json:"format"`
	Transforms  []string   `json:"transforms,omitempty"`
	// Filter is a content filter on the event envelope {type, data}
	// (docs/filters.md); events it refuses create no delivery.
	Filter json.RawMessage `json:"filter,omitempty"`
	// filter is Filter parsed (CompileFilter); nil with a Filter set means
	// not compiled yet.
	filter *filter.Filter
	// Transformation is the source of an inline JavaScript function
	// `function handler(input) { ... }` applied after the format (see
	// docs/transformations.md); "" for none.
	Transformation string `json:"transformation,omitempty"`
	// TransformationVersion goes up by one each time Transformation changes.
	TransformationVersion int               `json:"transformation_version,omitempty"`
	Settings              map[string]string `json:"settings,omitempty"`
	Metadata              map[string]string `json:"metadata,omitempty"`
	Enabled               bool              `json:"enabled"`
	Status                WebhookStatus     `json:"status"`
	Timeout               Duration          `json:"timeout,omitempty"`
	Retry                 *RetryPolicy      `json:"retry,omitempty"`

	// Secret signs deliveries. It is never serialised with the webhook: the
	// API returns it once, on create and on rotation.
	Secret string `json:"-"`
	// Unsigned is true when the admin chose explicitly to send unsigned deliveries.
	Unsigned bool `json:"unsigned,omitempty"`
	// PreviousSecret keeps signing, beside Secret, until PreviousSecretUntil.
	PreviousSecret      string    `json:"-"`
	PreviousSecretUntil time.Time `json:"previous_secret_until,omitzero"`

	FailureCount        int64      `json:"failure_count"`
	ConsecutiveFailures int64      `json:"consecutive_failures"`
	LastTriggeredAt     *time.Time `json:"last_triggered_at"`
	LastStatusCode      int        `json:"last_status_code"`

	// HeldEvents is how many events are kept, waiting for the webhook to be
	// active again (paused, auto-paused) or for endpoints to confirm. Filled on reads.
	HeldEvents int64 `json:"held_events"`
	// StatusReason says in words why events are not delivered, when they are
	// not: the reason given with the change (an admin's pause, the
	// auto-pause), or else the status's own (Reason).
	StatusReason string `json:"status_reason,omitempty"`
	// StatusChangedAt is when the status (or enabled) last changed.
	StatusChangedAt *time.Time `json:"status_changed_at,omitempty"`
	// ConfirmationRequests is, in the answer of a create or update that
	// sent confirmation requests, the outcome per endpoint; never stored.
	ConfirmationRequests []ConfirmationSent `json:"confirmation_requests,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// SetStatus changes the status, with the reason people read ("" for the
// status's own), and stamps StatusChangedAt when the status changes.
func (w *Webhook) SetStatus(s WebhookStatus, reason string, now time.Time) {
	if s != w.Status {
		w.Status = s
		t := now.UTC()
		w.StatusChangedAt = &t
	}
	w.StatusReason = reason
}

// EffectiveStatus is the status shown: StatusDisabled for a disabled
// webhook, else the stored status.
func (w *Webhook) EffectiveStatus() WebhookStatus {
	if !w.Enabled {
		return StatusDisabled
	}
	return w.Status
}

// ShowStatus sets the fields read by people: the effective status, and its
// reason when none was kept with the change.
func (w *Webhook) ShowStatus() {
	w.Status = w.EffectiveStatus()
	switch w.Status {
	case StatusActive:
		w.StatusReason = ""
	case StatusDisabled, StatusUnconfirmed, StatusPendingConfirmation:
		w.StatusReason = w.Status.Reason(w.ID)
	default:
		if w.StatusReason == "" {
			w.StatusReason = w.Status.Reason(w.ID)
		}
	}
}

// ConfirmationStatus is the status w's endpoints give it when it is neither
// paused nor auto-paused: active when no enabled endpoint waits for its
// confirmation, unconfirmed when none has confirmed, pending_confirmation
// in between.
func (w *Webhook) ConfirmationStatus() WebhookStatus {
	pending, ready := 0, 0
	for i := range w.Endpoints {
		switch e := &w.Endpoints[i]; {
		case !e.Enabled:
		case e.Pending():
			pending++
		default:
			ready++
		}
	}
	switch {
	case pending == 0:
		return StatusActive
	case ready == 0:
		return StatusUnconfirmed
	}
	return StatusPendingConfirmation
}

// SettleStatus sets the status from the endpoints' confirmation, unless w
// is paused or auto-paused (which the admin ends with a resume).
func (w *Webhook) SettleStatus(now time.Time) {
	if w.Status.Holding() {
		return
	}
	if s := w.ConfirmationStatus(); s != w.Status {
		w.SetStatus(s, "", now)
	}
}

// Delivers reports whether a delivery of w to endpoint e goes out now: w is
// neither paused nor auto-paused and e is enabled and not waiting for its
// confirmation. Otherwise it is held (or dropped, when disabled).
func (w *Webhook) Delivers(e *Endpoint) bool {
	return w.Enabled && e.Enabled && !w.Status.Holding() && !e.Pending()
}

// Secrets returns the secrets deliveries are signed with at time now: the
// current one, and the previous one while its grace period lasts.
func (w *Webhook) Secrets(now time.Time) []string {
	if w.Unsigned || w.Secret == "" {
		return nil
	}
	if w.PreviousSecret != "" && now.Before(w.PreviousSecretUntil) {
		return []string{w.Secret, w.PreviousSecret}
	}
	return []string{w.Secret}
}

// Subscribed reports whether the webhook subscribes to the event type typ.
func (w *Webhook) Subscribed(typ string) bool {
	for _, p := range w.Events {
		if MatchEvent(p, typ) {
			return true
		}
	}
	return false
}

// WebhookFilter selects webhooks in a list.
type WebhookFilter struct {
	Tenant string        // required: the namespace to list (SystemTenant for system webhooks)
	Search string        // case-insensitive substring of the name
	Sort   string        // name, -name, created_at, -created_at (default)
	Status WebhookStatus // only this status
	Event  string        // only webhooks whose subscriptions match this event type
	Cursor string        // opaque cursor from a previous page
	Limit  int           // page size
}

// WebhookStore keeps outgoing webhooks. Every method is scoped to a tenant: a
// record of another tenant is ENOTFOUND.
type WebhookStore interface {
	CreateWebhook(ctx context.Context, w *Webhook) error
	FindWebhookByID(ctx context.Context, tenant, id string) (*Webhook, error)
	// FindWebhooks returns one page and the cursor of the next ("" at the end).
	FindWebhooks(ctx context.Context, f WebhookFilter) ([]*Webhook, string, error)
	// UpdateWebhook applies fn to the current record atomically: concurrent
	// updates are serialised, none is lost. fn may return an error to abort.
	UpdateWebhook(ctx context.Context, tenant, id string, fn func(*Webhook) error) (*Webhook, error)
	DeleteWebhook(ctx context.Context, tenant, id string) error
}

// WebhookService holds the rules of the webhook admin API (implemented by
// webhooks.Service): validation, limits, confirmation of new endpoints.
// Calls are scoped to namespace ns (a tenant, or SystemTenant).
type WebhookService interface {
	// CreateWebhook validates and stores a new webhook owned by owner; the
	// answer carries its secret, to be shown once.
	CreateWebhook(ctx context.Context, ns, owner string, in *WebhookPatch) (*Webhook, error)
	FindWebhookByID(ctx context.Context, ns, id string) (*Webhook, error)
	// FindWebhooks returns one page and the cursor of the next ("" at the end).
	FindWebhooks(ctx context.Context, f WebhookFilter) ([]*Webhook, string, error)
	// UpdateWebhook applies a patch atomically and validates the result.
	UpdateWebhook(ctx context.Context, ns, id string, p *WebhookPatch) (*Webhook, error)
	DeleteWebhook(ctx context.Context, ns, id string) error
}

// WebhookRules are the limits and settings webhook validation applies; they
// come from config.
type WebhookRules struct {
	AllowHTTP bool // accept http:// endpoint URLs for every format; default false
	// FormatAllowsHTTP reports whether a format's plugin accepts http://
	// endpoints although AllowHTTP is off (plugins[].allow_http: CloudCX).
	// Optional.
	FormatAllowsHTTP func(format string) bool
	// EventTypes returns the event types a format renders (its plugin's
	// declared types); nil means any. Optional.
	EventTypes      func(format string) []string
	MaxNameLength   int      // default 200
	MaxEndpoints    int      // per webhook
	MaxEvents       int      // subscription patterns per webhook
	MinSecretLength int      // for custom secrets
	MaxTimeout      Duration // upper bound for a per-webhook timeout
	MaxRetries      int      // upper bound on a per-webhook retry schedule's length
	Formats         func(name string) bool
	Transforms      func(name string) bool
	// FormatUnavailable says why a format Formats does not know may be
	// provided by a configured plugin that is not running (its checksum
	// does not match, its executable is missing...); "" when none could.
	FormatUnavailable func(name string) string
	// Transformation checks an inline transformation's source (size, syntax,
	// a handler defined) and returns an error whose message says what is
	// wrong; nil refuses every transformation (they are disabled).
	Transformation    func(src string) error
	Catalogue         *Catalogue
	MaxMetadataKeys   int
	MaxDescriptionLen int
}

// Validate checks w against the rules, canonicalising its event patterns
// and its endpoint URLs (EndpointURL).
// It returns an EINVALID error with one message per bad field.
func (w *Webhook) Validate(r WebhookRules) error {
	var v Validation
	w.Name = strings.TrimSpace(w.Name)
	switch {
	case w.Name == "":
		v.Add("name", "name is required")
	case len([]rune(w.Name)) > r.MaxNameLength:
		v.Add("name", "name must be at most %d characters", r.MaxNameLength)
	}
	if r.MaxDescriptionLen > 0 && len(w.Description) > r.MaxDescriptionLen {
		v.Add("description", "description must be at most %d characters", r.MaxDescriptionLen)
	}
	if len(w.Endpoints) == 0 {
		v.Add("endpoints", "at least one endpoint is required")
	} else if len(w.Endpoints) > r.MaxEndpoints {
		v.Add("endpoints", "at most %d endpoints are allowed", r.MaxEndpoints)
	}
	if w.Format == "" {
		w.Format = "standard"
	}
	allowHTTP := r.AllowHTTP || (r.FormatAllowsHTTP != nil && r.FormatAllowsHTTP(w.Format))
	urls := map[string]int{}
	for i, e := range w.Endpoints {
		ValidateHeaders(&v, "endpoints["+strconv.Itoa(i)+"]", e.Headers)
		if r := e.RateLimit; r != 0 && !(r >= MinRateLimit && r <= MaxRateLimit) {
			v.Add("endpoints["+strconv.Itoa(i)+"].rate_limit",
				"rate_limit must be 0 (unlimited) or between %g and %d deliveries per second", MinRateLimit, MaxRateLimit)
		}
		field := "endpoints[" + strconv.Itoa(i) + "].url"
		u, err := EndpointURL(e.URL, allowHTTP)
		if err != nil {
			v.Add(field, "%s", ErrorMessage(err))
			continue
		}
		w.Endpoints[i].URL = u // stored as validated
		if j, dup := urls[u]; dup {
			// The same URL twice would receive every event twice.
			v.Add(field, "Webhook URL is the same as endpoints[%d]", j)
		} else {
			urls[u] = i
		}
	}
	if len(w.Events) == 0 {
		v.Add("events", "at least one event is required")
	} else if len(w.Events) > r.MaxEvents {
		v.Add("events", "at most %d events are allowed", r.MaxEvents)
	}
	seen := map[string]bool{}
	events := w.Events[:0:0]
	for i, p := range w.Events {
		canon, err := r.Catalogue.CheckPattern(strings.TrimSpace(p))
		if err != nil {
			v.Add("events["+strconv.Itoa(i)+"]", "%s", ErrorMessage(err))
			continue
		}
		if !seen[canon] {
			seen[canon] = true
			events = append(events, canon)
		}
	}
	w.Events = events
	unavailable := ""
	if r.Formats != nil && !r.Formats(w.Format) {
		if r.FormatUnavailable != nil {
			unavailable = r.FormatUnavailable(w.Format)
		}
		if unavailable != "" {
			v.Add("format", "format %q is unavailable: %s", w.Format, unavailable)
		} else {
			v.Add("format", "unknown format %q", w.Format)
		}
	} else if r.EventTypes != nil {
		if bad := Unrenderable(events, r.EventTypes(w.Format)); len(bad) > 0 {
			v.Add("events", "format %s cannot send %s (it sends %s)", w.Format, strings.Join(bad, ", "),
				strings.Join(r.EventTypes(w.Format), ", "))
		}
	}
	for i, t := range w.Transforms {
		if r.Transforms == nil || !r.Transforms(t) {
			v.Add("transforms["+strconv.Itoa(i)+"]", "unknown transform %q", t)
		}
	}
	if w.Transformation != "" {
		if r.Transformation == nil {
			v.Add("transformation", "inline transformations are disabled on this server (transformations.enabled)")
		} else if err := r.Transformation(w.Transformation); err != nil {
			v.Add("transformation", "%s", ErrorMessage(err))
		}
	}
	if !w.Unsigned && w.Secret != "" && len(w.Secret) < r.MinSecretLength {
		v.Add("secret", "secret must be at least %d characters", r.MinSecretLength)
	}
	if w.Timeout < 0 || (r.MaxTimeout > 0 && w.Timeout > r.MaxTimeout) {
		v.Add("timeout", "timeout must be between 0 and %s", r.MaxTimeout.D())
	}
	if w.Retry != nil {
		if len(w.Retry.Delays) > r.MaxRetries {
			v.Add("retry.delays", "at most %d retries are allowed", r.MaxRetries)
		}
		for _, d := range w.Retry.Delays {
			if d <= 0 {
				v.Add("retry.delays", "retry delays must be positive")
			}
		}
	}
	if r.MaxMetadataKeys > 0 && len(w.Metadata) > r.MaxMetadataKeys {
		v.Add("metadata", "at most %d metadata keys are allowed", r.MaxMetadataKeys)
	}
	if w.Status != "" && !w.Status.Valid() {
		v.Add("status", "unknown status %q", w.Status)
	}
	w.checkFilter(&v)
	err := v.Err()
	if e, ok := err.(*Error); ok && unavailable != "" && len(e.Fields) == 1 {
		// The webhook is right; the plugin its format needs is not running.
		e.Code = EFORMATUNAVAILABLE
	}
	return err
}

// ValidateFilter compiles w.Filter alone (a filter editor's preview) and
// returns an EINVALID error naming the place of a problem (filter.<path>).
func (w *Webhook) ValidateFilter() error {
	var v Validation
	w.checkFilter(&v)
	return v.Err()
}

func (w *Webhook) checkFilter(v *Validation) {
	if err := w.CompileFilter(); err != nil {
		var fe *filter.Error
		if errors.As(err, &fe) && fe.Path != "" {
			v.Add("filter."+fe.Path, "%s", fe.Message)
		} else {
			v.Add("filter", "filter %s", ErrorMessage(err))
		}
	}
}

// CompileFilter parses w.Filter once, for Accepts; a filter that is empty
// ({} or null) is dropped.
func (w *Webhook) CompileFilter() error {
	f, err := filter.Parse(w.Filter)
	if err != nil {
		return err
	}
	if f == nil {
		w.Filter = nil
	} else {
		var b bytes.Buffer
		if json.Compact(&b, w.Filter) == nil {
			w.Filter = b.Bytes()
		}
	}
	w.filter = f
	return nil
}

// Accepts reports whether w's content filter lets the event through (true
// without a filter). A filter that was never compiled is parsed on each
// call; one that cannot be parsed refuses the event.
func (w *Webhook) Accepts(typ string, data []byte) bool {
	if len(w.Filter) == 0 {
		return true
	}
	if w.filter != nil {
		return w.filter.Match(typ, data)
	}
	f, err := filter.Parse(w.Filter)
	return err == nil && f.Match(typ, data)
}

// Unrenderable returns the subscription patterns a format that renders only
// the types declared cannot honour: an exact type not declared, or a
// wildcard `object.*` that matches none of them. `*` is always accepted (it
// means "whatever the format sends"). A nil declared list means any type.
func Unrenderable(patterns, declared []string) []string {
	if declared == nil {
		return nil
	}
	var bad []string
	for _, p := range patterns {
		ok := p == "*"
		for _, t := range declared {
			if ok {
				break
			}
			ok = MatchEvent(p, t)
		}
		if !ok {
			bad = append(bad, p)
		}
	}
	return bad
}

// MsgHTTPSRequired is the refusal of an http:// endpoint URL while
// delivery.allow_http is off; it names the ways to open http.
const MsgHTTPSRequired = "Webhook URL must use HTTPS (http:// is accepted when delivery.allow_http is on, " +
	"for a format whose plugin sets allow_http, or by `hookgate serve --dev` for local trials)"

// EndpointURL returns the delivery URL raw in the one form that is
// validated, stored and dialled, or an EINVALID error saying what is wrong.
// Every route that takes an endpoint URL (create, update, test before save)
// goes through it, so what passed validation is what deliveries reach: a URL
// validated trimmed but stored padded failed every delivery as "connect".
// The URL must be absolute, http(s) (http only with allowHTTP), with a host,
// no userinfo and no fragment.
func EndpointURL(raw string, allowHTTP bool) (string, error) {
	s, err := normalizeEndpointURL(raw)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(s)
	// Hostname, not Host: "https://:443/" has a port and no host (a dial
	// would go to this machine).
	if err != nil || !u.IsAbs() || u.Hostname() == "" || u.Opaque != "" {
		return "", Errorf(EINVALID, "Webhook URL must be an absolute URL")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowHTTP {
			return "", Errorf(EINVALID, "%s", MsgHTTPSRequired)
		}
	default:
		if allowHTTP {
			return "", Errorf(EINVALID, "Webhook URL scheme %q is not supported: use https:// or http://", u.Scheme)
		}
		return "", Errorf(EINVALID, "Webhook URL scheme %q is not supported: use https://", u.Scheme)
	}
	if strings.Contains(u.Hostname(), "%") {
		// An IPv6 zone names an interface of this machine, and only
		// link-local addresses (which the SSRF guard refuses) take one; net/url
		// also writes some zones back in a form it cannot read.
		return "", Errorf(EINVALID, "Webhook URL must not name a network interface (an IPv6 zone)")
	}
	if u.User != nil {
		return "", Errorf(EINVALID, "Webhook URL must not contain credentials")
	}
	if u.Fragment != "" {
		return "", Errorf(EINVALID, "Webhook URL must not contain a fragment")
	}
	return s, nil
}

// CheckEndpointURL reports whether EndpointURL accepts raw.
func CheckEndpointURL(raw string, allowHTTP bool) error {
	_, err := EndpointURL(raw, allowHTTP)
	return err
}

// normalizeEndpointURL removes the whitespace around raw (pasted URLs carry
// it) and refuses what no trimming makes safe: invalid UTF-8, and spaces,
// control characters (CR/LF would split a request line) or invisible
// format characters (zero-width, bidi overrides) inside. Nothing else is
// rewritten: the admin sees back what they typed, less the padding.
func normalizeEndpointURL(raw string) (string, error) {
	if !utf8.ValidString(raw) {
		return "", Errorf(EINVALID, "Webhook URL must be valid UTF-8")
	}
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", Errorf(EINVALID, "Webhook URL is required")
	}
	lead := len(raw) - len(strings.TrimLeftFunc(raw, unicode.IsSpace))
	for i, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return "", Errorf(EINVALID, "Webhook URL must not contain spaces or control characters (%U at byte %d); percent-encode them", r, lead+i)
		}
	}
	return s, nil
}

// Duration is a time.Duration that reads and writes JSON and YAML as a Go
// duration string ("5s", "1m30s"); JSON numbers are read as seconds.
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "5s" or 5 (seconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n float64
		if err := json.Unmarshal(b, &n); err != nil {
			return Errorf(EINVALID, "a duration must be a string such as \"5s\" or a number of seconds")
		}
		*d = Duration(n * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return Errorf(EINVALID, "invalid duration %q", s)
	}
	*d = Duration(v)
	return nil
}

// UnmarshalText reads a Go duration string (used by YAML and env decoding).
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
