package hookgate

import "context"

// ResumeResult is the answer to a resume: the webhook as a read right after
// shows it, the status it had, and how many held events were released.
type ResumeResult struct {
	Webhook        *Webhook      `json:"webhook"`
	PreviousStatus WebhookStatus `json:"previous_status"`
	Released       int           `json:"released"`
}

// ConfirmResult is the answer to a followed confirmation link.
type ConfirmResult struct {
	Confirmed  bool          `json:"confirmed"`
	WebhookID  string        `json:"webhook_id"`
	EndpointID string        `json:"endpoint_id,omitempty"`
	URL        string        `json:"url,omitempty"`
	Status     WebhookStatus `json:"status"`
	Released   int           `json:"released"`
	Message    string        `json:"message"`
}

// LifecycleService pauses, resumes, confirms and rotates the secret of
// webhooks (implemented by lifecycle.Manager). Calls but Confirm are scoped
// to namespace ns; Confirm is found by its token alone.
type LifecycleService interface {
	// Pause keeps the webhook's events instead of delivering them; reason
	// becomes its status_reason.
	Pause(ctx context.Context, ns, id, reason string) (*Webhook, error)
	// Resume delivers again and releases the held events, oldest first.
	Resume(ctx context.Context, ns, id string) (*ResumeResult, error)
	// ResendConfirmation sends the confirmation request again to the
	// endpoints waiting for it.
	ResendConfirmation(ctx context.Context, ns, id string) ([]ConfirmationSent, error)
	// Confirm follows a confirmation link's token.
	Confirm(ctx context.Context, token string) (*ConfirmResult, error)
	// RotateSecret gives the webhook a new secret; the old one still signs
	// for grace (nil: the configured default).
	RotateSecret(ctx context.Context, ns, id string, grace *Duration) (*Webhook, error)
}
