// Package deliver makes delivery attempts: it looks the webhook up, holds
// the delivery when the webhook is not active, paces it to the endpoint's
// rate limit and bounds the requests in flight per endpoint, renders the
// payload, signs the request (Signer, the one place that signs), sends it,
// decides on a retry by the webhook's policy (Retry-After, 410, jitter),
// records the attempt in the delivery log (LogWriter, a group commit) and
// tells the lifecycle of failures. It also sends test deliveries and
// previews them. It knows nothing of asynq: package queue hands it each task.
package deliver
