// Package ingest is where events come in and become delivery tasks. The
// Publisher serves POST /v1/events: it validates each event, answers the
// repeat of an idempotency key with the first answer, matches the event to
// its subscribers through the in-memory subscription Index (refreshed by the
// store's change notifications), holds the deliveries of webhooks that are
// not active, and enqueues one task per webhook and enabled endpoint,
// answering only once every task is in Redis. The AMQP and NATS consumers
// feed the same Publisher from message brokers and acknowledge a message
// only on the same guarantee.
package ingest
