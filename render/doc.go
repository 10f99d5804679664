// Package render turns an event into the payload one webhook receives: the
// webhook's transforms in order (each may rewrite the event's data or skip
// it), then its format (the in-process `standard` envelope, or the plugin
// that provides the format), then its inline JavaScript transformation. The
// Pipeline implements hookgate.Renderer and translates incoming webhook
// requests through plugins. It owns the order of the steps: running plugins
// is plugins/host's job, signing and sending deliver's.
package render
