// Package queue is hookgate's asynq adapter: the delivery task type and its
// codec (hookgate.Task), the client that enqueues deliveries, the server
// whose handler hands each task to the deliverer (package deliver) with
// asynq's retry count, and the recover task. Nothing else in hookgate
// imports asynq.
package queue

// TypeDelivery is the asynq task type of one delivery (one event to one
// endpoint of one webhook).
const TypeDelivery = "delivery"
