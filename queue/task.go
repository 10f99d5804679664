// Package queue owns hookgate's use of asynq: the task type and its codec
// (hookgate.Task), enqueueing, the server with its retry schedule, and the
// delivery handler that renders, signs, sends and records each attempt.
// Nothing else in hookgate imports asynq.
package queue

// TypeDelivery is the asynq task type of one delivery (one event to one
// endpoint of one webhook).
const TypeDelivery = "delivery"
