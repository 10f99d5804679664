// Package hookgate is the domain of the hookgate webhook gateway: events and
// their catalogue, outgoing webhooks and their endpoints, deliveries, incoming
// webhooks, principals and errors. It declares the interfaces the domain needs
// (stores, queue, formatters) and imports nothing heavy: no HTTP framework, no
// Redis client, no queue or plugin library. Those live in sub-packages that
// implement the interfaces declared here.
package hookgate

// Version is the version of hookgate, set at build time with
// -ldflags "-X github.com/hookgate/hookgate.Version=...". It is reported in the
// User-Agent of every delivery and by /healthz.
var Version = "dev"

// UserAgent is the User-Agent header hookgate sends on outgoing requests.
func UserAgent() string { return "hookgate/" + Version }
