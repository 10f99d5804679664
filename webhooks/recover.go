package webhooks

import (
	"context"
	"time"

	"github.com/hookgate/hookgate"
)

// recoverPage is how many logged deliveries a recover reads at a time.
const recoverPage = 100

// untilLeeway is how far in the future until may be (clocks differ); a
// later until is refused, an earlier one is taken as now.
const untilLeeway = time.Minute

// RecoverWebhook starts a recover of webhook id in namespace ns: every
// delivery created in [since, until] (until defaults to now), of one
// endpoint or all, that is failed now (its retries spent, or its manual
// retry failed), test sends excepted, is sent once more under its own
// delivery id. It counts them, queues a recover task that walks the window
// in pages and queues each one again (see Recover), and returns at once.
func (s *Deliveries) RecoverWebhook(ctx context.Context, ns, id string, req hookgate.RecoverRequest) (*hookgate.Recovery, error) {
	now := time.Now().UTC()
	var v hookgate.Validation
	var since, until time.Time
	if req.Since == "" {
		v.Add("since", "since is required: the RFC 3339 time from which failed deliveries are sent again")
	} else if t, err := time.Parse(time.RFC3339, req.Since); err != nil {
		v.Add("since", "since must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
	} else {
		since = t.UTC()
	}
	until = now
	if req.Until != "" {
		t, err := time.Parse(time.RFC3339, req.Until)
		switch {
		case err != nil:
			v.Add("until", "until must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
		case t.After(now.Add(untilLeeway)):
			v.Add("until", "until must not be in the future")
		case t.Before(now):
			until = t.UTC()
		}
	}
	if !since.IsZero() && !until.IsZero() && !since.Before(until) {
		if req.Until == "" {
			v.Add("since", "since must be in the past")
		} else {
			v.Add("until", "until must be after since")
		}
	}
	w, err := s.Webhooks.FindWebhookByID(ctx, ns, id)
	if err != nil {
		return nil, err
	}
	if req.EndpointID != "" && endpointOf(w, req.EndpointID) == nil {
		v.Add("endpoint_id", "endpoint %s is not an endpoint of this webhook", req.EndpointID)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	r := &hookgate.RecoverTask{ID: s.NewID("rcv"), Namespace: ns, WebhookID: w.ID, EndpointID: req.EndpointID,
		Since: since, Until: until, AsOf: now}
	n := 0
	err = s.walk(ctx, r, hookgate.DeliveryFailed, func(d *hookgate.Delivery) error {
		if recoverable(d, r) {
			n++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if n > 0 {
		if err := s.Queue.EnqueueRecover(ctx, r); err != nil {
			return nil, err
		}
	}
	return &hookgate.Recovery{ID: r.ID, Count: n, Since: since, Until: until, EndpointID: req.EndpointID}, nil
}

// recoverable reports whether a logged delivery is one recover r sends
// again: failed (a test send excepted) and not touched since r was asked for
// (one that failed again after being recovered waits for another recover).
func recoverable(d *hookgate.Delivery, r *hookgate.RecoverTask) bool {
	return d.Status == hookgate.DeliveryFailed && !d.Test && !d.UpdatedAt.After(r.AsOf)
}

// walk calls fn with each logged delivery of r's webhook (and endpoint) with
// status (any when empty) created in r's window, newest first, a page at a
// time.
func (s *Deliveries) walk(ctx context.Context, r *hookgate.RecoverTask, status hookgate.DeliveryStatus, fn func(*hookgate.Delivery) error) error {
	f := hookgate.DeliveryFilter{Tenant: r.Namespace, WebhookID: r.WebhookID, EndpointID: r.EndpointID, Status: status,
		Since: r.Since, Until: r.Until, Limit: recoverPage}
	for {
		page, next, err := s.Log.List(ctx, f)
		if err != nil {
			return err
		}
		for _, d := range page {
			if err := fn(d); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		f.Cursor = next
	}
}

// Recover runs a recover task: it walks the window and queues again each
// delivery recoverable by r, through requeue, the manual retry's path (the
// same delivery id, so the same webhook-id header; the attempt numbering goes
// on). Running it again (a worker stopped mid-way, Redis failed) is safe: a
// delivery already queued is pending, or has been attempted since, and
// requeue's compare-and-set lets only one caller queue a failed delivery.
// A delivery this walk marked pending but did not queue (the process stopped
// in between) is queued by the next run: pending since r was asked for, it
// is enqueued again under its task id, a no-op while that attempt is queued.
func (s *Deliveries) Recover(ctx context.Context, r *hookgate.RecoverTask) error {
	if _, err := s.Webhooks.FindWebhookByID(ctx, r.Namespace, r.WebhookID); err != nil {
		if hookgate.ErrorCode(err) == hookgate.ENOTFOUND {
			return nil // deleted meanwhile, with its log
		}
		return err
	}
	queued := 0
	err := s.walk(ctx, r, "", func(d *hookgate.Delivery) error {
		stuck := d.Status == hookgate.DeliveryPending && !d.Test && d.UpdatedAt.After(r.AsOf)
		if !recoverable(d, r) && !stuck {
			return nil
		}
		full, err := s.Log.Find(ctx, r.Namespace, d.ID)
		if hookgate.ErrorCode(err) == hookgate.ENOTFOUND {
			return nil // trimmed from the log meanwhile
		} else if err != nil {
			return err
		}
		if stuck {
			if full.Status == hookgate.DeliveryPending {
				return s.enqueueManual(ctx, r.Namespace, full)
			}
			return nil
		}
		ok, err := s.requeue(ctx, r.Namespace, full)
		if ok {
			queued++
		}
		return err
	})
	if err != nil {
		return err
	}
	if s.Logger != nil {
		s.Logger.Info("recover done", "recover_id", r.ID, "webhook_id", r.WebhookID, "endpoint_id", r.EndpointID, "queued", queued)
	}
	return nil
}

func endpointOf(w *hookgate.Webhook, id string) *hookgate.Endpoint {
	for i := range w.Endpoints {
		if w.Endpoints[i].ID == id {
			return &w.Endpoints[i]
		}
	}
	return nil
}
