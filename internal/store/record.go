package store

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hookgate/hookgate"
)

// record is a webhook as stored. It is its own type, not hookgate.Webhook's
// JSON, so that the API representation can change without breaking stored
// data, and so that secrets are kept (sealed) rather than dropped. Delivery
// counters are not here: they live in the stats hash.
type record struct {
	ID                  string                 `json:"id"`
	Tenant              string                 `json:"tenant"`
	System              bool                   `json:"system,omitempty"`
	Owner               string                 `json:"owner,omitempty"`
	Name                string                 `json:"name"`
	Description         string                 `json:"description,omitempty"`
	Endpoints           []hookgate.Endpoint    `json:"endpoints"`
	Events              []string               `json:"events"`
	Format              string                 `json:"format,omitempty"`
	Transforms          []string               `json:"transforms,omitempty"`
	Transformation      string                 `json:"transformation,omitempty"`
	TransformationVer   int                    `json:"transformation_version,omitempty"`
	Filter              json.RawMessage        `json:"filter,omitempty"`
	Settings            map[string]string      `json:"settings,omitempty"`
	Metadata            map[string]string      `json:"metadata,omitempty"`
	Enabled             bool                   `json:"enabled"`
	Status              hookgate.WebhookStatus `json:"status,omitempty"`
	StatusReason        string                 `json:"status_reason,omitempty"`
	StatusChangedAt     *time.Time             `json:"status_changed_at,omitempty"`
	Timeout             hookgate.Duration      `json:"timeout_ns,omitempty"`
	RetryDelays         []hookgate.Duration    `json:"retry_delays_ns,omitempty"`
	HasRetry            bool                   `json:"has_retry,omitempty"`
	SealedSecret        string                 `json:"secret_sealed,omitempty"`
	Unsigned            bool                   `json:"unsigned,omitempty"`
	SealedPrevious      string                 `json:"previous_secret_sealed,omitempty"`
	PreviousSecretUntil time.Time              `json:"previous_secret_until,omitzero"`
	CreatedAt           time.Time              `json:"created_at"`
	UpdatedAt           time.Time              `json:"updated_at"`
}

// Additional data that binds a sealed secret to its record and field.
func secretAAD(tenant, id string) string { return "webhook-secret\x00" + tenant + "\x00" + id }
func previousAAD(tenant, id string) string {
	return "webhook-previous-secret\x00" + tenant + "\x00" + id
}

// headerAAD binds a sealed header value to its webhook, endpoint and name.
func headerAAD(tenant, id, endpoint, name string) string {
	return "endpoint-header\x00" + tenant + "\x00" + id + "\x00" + endpoint + "\x00" + name
}

// sealHeaders returns w's endpoints with their custom header values sealed
// (the values are often API keys), leaving w as it is.
func (s *Store) sealHeaders(w *hookgate.Webhook) []hookgate.Endpoint {
	eps := w.Endpoints
	for i, e := range w.Endpoints {
		if len(e.Headers) == 0 {
			continue
		}
		if &eps[0] == &w.Endpoints[0] {
			eps = append([]hookgate.Endpoint(nil), w.Endpoints...)
		}
		sealed := make(map[string]string, len(e.Headers))
		for k, v := range e.Headers {
			sealed[k] = s.seal.seal(v, headerAAD(w.Tenant, w.ID, e.ID, k))
		}
		eps[i].Headers = sealed
	}
	return eps
}

// openHeaders opens the sealed header values of w's endpoints in place.
func (s *Store) openHeaders(w *hookgate.Webhook) error {
	for i := range w.Endpoints {
		e := &w.Endpoints[i]
		for k, v := range e.Headers {
			plain, err := s.seal.open(v, headerAAD(w.Tenant, w.ID, e.ID, k))
			if err != nil {
				return fmt.Errorf("decode webhook %s: endpoint %s header %s: %w", w.ID, e.ID, k, err)
			}
			e.Headers[k] = plain
		}
	}
	return nil
}

// encode seals w's secrets and returns the stored JSON.
func (s *Store) encode(w *hookgate.Webhook) ([]byte, error) {
	r := record{
		ID:                  w.ID,
		Tenant:              w.Tenant,
		System:              w.System,
		Owner:               w.Owner,
		Name:                w.Name,
		Description:         w.Description,
		Endpoints:           s.sealHeaders(w),
		Events:              w.Events,
		Format:              w.Format,
		Filter:              w.Filter,
		Transforms:          w.Transforms,
		Transformation:      w.Transformation,
		TransformationVer:   w.TransformationVersion,
		Settings:            w.Settings,
		Metadata:            w.Metadata,
		Enabled:             w.Enabled,
		Status:              w.Status,
		StatusReason:        w.StatusReason,
		StatusChangedAt:     w.StatusChangedAt,
		Timeout:             w.Timeout,
		SealedSecret:        s.seal.seal(w.Secret, secretAAD(w.Tenant, w.ID)),
		Unsigned:            w.Unsigned,
		SealedPrevious:      s.seal.seal(w.PreviousSecret, previousAAD(w.Tenant, w.ID)),
		PreviousSecretUntil: w.PreviousSecretUntil.UTC(),
		CreatedAt:           w.CreatedAt.UTC(),
		UpdatedAt:           w.UpdatedAt.UTC(),
	}
	if w.Retry != nil {
		r.HasRetry, r.RetryDelays = true, w.Retry.Delays
	}
	b, err := json.Marshal(&r)
	if err != nil {
		return nil, fmt.Errorf("encode webhook %s: %w", w.ID, err)
	}
	return b, nil
}

// decode reads a stored record, opening its secrets.
func (s *Store) decode(b []byte) (*hookgate.Webhook, error) {
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode webhook: %w", err)
	}
	return s.webhook(&r)
}

// webhook turns a stored record into a Webhook, opening its secrets.
func (s *Store) webhook(r *record) (*hookgate.Webhook, error) {
	w := &hookgate.Webhook{
		ID:                    r.ID,
		Tenant:                r.Tenant,
		System:                r.System,
		Owner:                 r.Owner,
		Name:                  r.Name,
		Description:           r.Description,
		Endpoints:             r.Endpoints,
		Events:                r.Events,
		Format:                r.Format,
		Transforms:            r.Transforms,
		Filter:                r.Filter,
		Transformation:        r.Transformation,
		TransformationVersion: r.TransformationVer,
		Settings:              r.Settings,
		Metadata:              r.Metadata,
		Enabled:               r.Enabled,
		Status:                r.Status,
		StatusReason:          r.StatusReason,
		StatusChangedAt:       r.StatusChangedAt,
		Timeout:               r.Timeout,
		Unsigned:              r.Unsigned,
		PreviousSecretUntil:   r.PreviousSecretUntil,
		CreatedAt:             r.CreatedAt,
		UpdatedAt:             r.UpdatedAt,
	}
	if r.HasRetry {
		w.Retry = &hookgate.RetryPolicy{Delays: r.RetryDelays}
	}
	if w.Status == hookgate.StatusUnconfirmed {
		// Records written when the whole webhook confirmed at once carry no
		// confirmation per endpoint: every endpoint of an unconfirmed one waits.
		for i := range w.Endpoints {
			if w.Endpoints[i].Confirmation == "" {
				w.Endpoints[i].Confirmation = hookgate.ConfirmationPending
			}
		}
	}
	if err := s.openHeaders(w); err != nil {
		return nil, err
	}
	var err error
	if w.Secret, err = s.seal.open(r.SealedSecret, secretAAD(r.Tenant, r.ID)); err != nil {
		return nil, fmt.Errorf("decode webhook %s: secret: %w", r.ID, err)
	}
	if w.PreviousSecret, err = s.seal.open(r.SealedPrevious, previousAAD(r.Tenant, r.ID)); err != nil {
		return nil, fmt.Errorf("decode webhook %s: previous secret: %w", r.ID, err)
	}
	return w, nil
}

// nameMember is a webhook's entry in the by_name index.
func nameMember(id, name string) string {
	return strings.ToLower(name) + "\x00" + id
}

// createdMember is a webhook's entry in the by_created index. Milliseconds
// padded to 15 digits sort as numbers until the year 33658.
func createdMember(id, name string, created time.Time) string {
	return fmt.Sprintf("%015d\x00%s\x00%s", created.UnixMilli(), id, strings.ToLower(name))
}

// parseMember returns the id and the lowercased name held by an index member.
func parseMember(byName bool, m string) (id, lname string, ok bool) {
	if byName {
		i := strings.LastIndexByte(m, 0)
		if i < 0 {
			return "", "", false
		}
		return m[i+1:], m[:i], true
	}
	ts, rest, ok := strings.Cut(m, "\x00")
	if !ok || len(ts) != 15 {
		return "", "", false
	}
	id, lname, ok = strings.Cut(rest, "\x00")
	return id, lname, ok
}

// mergeStats copies the delivery counters of the stats hash into w. A field
// that does not parse is left at zero: a bad counter must not make the
// webhook unreadable.
func mergeStats(w *hookgate.Webhook, h map[string]string) {
	if v, err := strconv.ParseInt(h[StatsFailureCount], 10, 64); err == nil {
		w.FailureCount = v
	}
	if v, err := strconv.ParseInt(h[StatsConsecutiveFailures], 10, 64); err == nil {
		w.ConsecutiveFailures = v
	}
	if v, err := strconv.ParseInt(h[StatsLastTriggeredAt], 10, 64); err == nil && v > 0 {
		t := time.UnixMilli(v).UTC()
		w.LastTriggeredAt = &t
	}
	if v, err := strconv.Atoi(h[StatsLastStatusCode]); err == nil {
		w.LastStatusCode = v
	}
}
