// Package webhooks is the service behind the admin API's outgoing webhooks:
// creation with validation and secrets, updates, listing and deletion over
// a hookgate.WebhookStore (Service); the delivery log, manual retries, test
// sends, previews and recovers of failed deliveries (Deliveries); and the
// preview of an unsaved inline transformation. It holds the business rules;
// the gateway only parses and authorises, and the store only keeps records.
package webhooks
