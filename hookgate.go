// Package hookgate is the domain of the hookgate webhook gateway and the
// contract between its layers. It declares the types every layer shares:
// events and their catalogue, outgoing webhooks and their endpoints,
// deliveries and the delivery log, incoming webhooks, plugins' status,
// principals and errors. It declares the ports between layers: the services
// the HTTP layer calls (WebhookService, DeliveryService, EventPublisher,
// LifecycleService, IncomingService, ...) and what those services need
// (stores, the delivery log, idempotency, the queue, renderers, the test
// sender). It imports nothing heavy: no HTTP framework, no Redis client, no
// queue or plugin library. Those live in sub-packages that implement the
// interfaces declared here; the gateway sees only these.
package hookgate

// Version is the version of hookgate, set at build time with
// -ldflags "-X github.com/hookgate/hookgate.Version=...". It is reported in the
// User-Agent of every delivery and by /healthz.
var Version = "dev"

// UserAgent is the User-Agent header hookgate sends on outgoing requests.
func UserAgent() string { return "hookgate/" + Version }
