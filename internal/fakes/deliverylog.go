package fakes

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/hookgate/hookgate"
)

// DeliveryLog is a hookgate.DeliveryLog in a map. Like the real one it hands
// out copies, finds a delivery only in its own namespace, and Swap is a
// compare-and-set on the status and the attempts that keeps the attempts
// already logged. List filters by webhook, status, endpoint, event type and
// creation window and returns every match in one page, newest first: no
// cursor, no limit. Stats and Health answer what SetStats and SetHealth
// gave them (nil otherwise); nothing is aggregated.
type DeliveryLog struct {
	mu     sync.Mutex
	ds     map[string]*hookgate.DeliveryRecord
	stats  map[string]*hookgate.WebhookStats
	health map[string]*hookgate.Health
	// Swaps counts the Swap calls that changed a record.
	Swaps int
}

var _ hookgate.DeliveryLog = (*DeliveryLog)(nil)

// NewDeliveryLog returns a log holding copies of ds.
func NewDeliveryLog(ds ...*hookgate.DeliveryRecord) *DeliveryLog {
	l := &DeliveryLog{ds: map[string]*hookgate.DeliveryRecord{}, stats: map[string]*hookgate.WebhookStats{}, health: map[string]*hookgate.Health{}}
	for _, d := range ds {
		l.ds[d.ID] = cloneRecord(d)
	}
	return l
}

// Get returns a copy of the logged delivery id, nil when there is none.
func (l *DeliveryLog) Get(id string) *hookgate.DeliveryRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d, ok := l.ds[id]; ok {
		return cloneRecord(d)
	}
	return nil
}

// SetStats sets what Stats answers for webhook wh.
func (l *DeliveryLog) SetStats(wh string, st *hookgate.WebhookStats) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stats[wh] = st
}

// SetHealth sets what Health answers for webhook wh.
func (l *DeliveryLog) SetHealth(wh string, h *hookgate.Health) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.health[wh] = h
}

func (l *DeliveryLog) List(_ context.Context, f hookgate.DeliveryFilter) ([]*hookgate.Delivery, string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*hookgate.Delivery
	for _, d := range l.ds {
		switch {
		case d.WebhookID != f.WebhookID,
			f.Status != "" && d.Status != f.Status,
			f.EndpointID != "" && d.EndpointID != f.EndpointID,
			f.EventType != "" && d.EventType != f.EventType,
			!f.Since.IsZero() && d.CreatedAt.Before(f.Since),
			!f.Until.IsZero() && d.CreatedAt.After(f.Until):
			continue
		}
		c := cloneRecord(d).Delivery
		c.AttemptLog = nil
		out = append(out, &c)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID > out[j].ID
	})
	return out, "", nil
}

func (l *DeliveryLog) Find(_ context.Context, ns, id string) (*hookgate.DeliveryRecord, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	d, ok := l.ds[id]
	if !ok || d.Namespace != ns {
		return nil, hookgate.Errorf(hookgate.ENOTFOUND, "delivery %s not found", id)
	}
	return cloneRecord(d), nil
}

func (l *DeliveryLog) Swap(_ context.Context, d *hookgate.DeliveryRecord, was hookgate.DeliveryStatus, attempts int) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, ok := l.ds[d.ID]
	if !ok || cur.Status != was || cur.Attempts != attempts {
		return false, nil
	}
	next := cloneRecord(d)
	next.AttemptLog = cur.AttemptLog
	l.ds[d.ID] = next
	l.Swaps++
	return true, nil
}

func (l *DeliveryLog) Stats(_ context.Context, wh string, _ time.Time) (*hookgate.WebhookStats, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats[wh], nil
}

func (l *DeliveryLog) Health(_ context.Context, whs []string) (map[string]*hookgate.Health, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]*hookgate.Health{}
	for _, wh := range whs {
		if h, ok := l.health[wh]; ok {
			out[wh] = h
		}
	}
	return out, nil
}

// cloneRecord is a deep copy of d, so that neither the caller nor the log
// changes the other's.
func cloneRecord(d *hookgate.DeliveryRecord) *hookgate.DeliveryRecord {
	b, err := json.Marshal(d)
	if err != nil {
		panic(err)
	}
	var c hookgate.DeliveryRecord
	if err := json.Unmarshal(b, &c); err != nil {
		panic(err)
	}
	c.Data = append(json.RawMessage(nil), d.Data...) // byte for byte, not compacted
	return &c
}
