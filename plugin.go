package hookgate

import (
	"context"
	"time"
)

// PluginStatus is what GET /v1/plugins shows of one plugin.
type PluginStatus struct {
	Name       string   `json:"name"`
	Path       string   `json:"path"`
	Version    string   `json:"version"`
	Formats    []string `json:"formats"`
	Transforms []string `json:"transforms"`
	// EventTypes are the event types the plugin's formats render, as it
	// declares them; empty means any.
	EventTypes        []string `json:"event_types"`
	NeedsConfirmation bool     `json:"needs_confirmation"`
	Incoming          bool     `json:"incoming"`
	Healthy           bool     `json:"healthy"`
	// Reason says why the plugin is unhealthy.
	Reason   string `json:"reason,omitempty"`
	Restarts int    `json:"restarts"`
	// PID is the plugin's current process id (0 when not running).
	PID int `json:"pid,omitempty"`
}

// PluginReloadResult is what a reload did with one plugin.
type PluginReloadResult struct {
	Name string `json:"name"`
	// Result is added, upgraded, removed, unchanged, kept_old (the change
	// was not applied, Reason says why; the old one runs on) or failed (a
	// new plugin did not start).
	Result string `json:"result"`
	// Version is the running version after the reload; PreviousVersion the
	// one before, when it changed.
	Version         string `json:"version,omitempty"`
	PreviousVersion string `json:"previous_version,omitempty"`
	Reason          string `json:"reason,omitempty"`
}

// PluginReloadReport is one reload of the plugins: when, what asked for it,
// and its outcome.
type PluginReloadReport struct {
	At time.Time `json:"at"`
	// Trigger is "api" (POST /v1/plugins/reload) or "sighup".
	Trigger string               `json:"trigger"`
	Plugins []PluginReloadResult `json:"plugins"`
	// RestartNeeded lists the configuration sections that changed but only
	// take effect when hookgate restarts.
	RestartNeeded []string `json:"restart_needed"`
	// Error says why the reload did not apply everything asked for: the
	// configuration could not be read, or some plugins were kept_old or
	// failed. Empty when it applied everything.
	Error string `json:"error,omitempty"`
}

// PluginLister reports the loaded plugins and their health (implemented by
// host.Host).
type PluginLister interface {
	Plugins() []PluginStatus
}

// PluginReloader re-reads the plugins section of the configuration and
// applies it without a restart, and reports the last reload (implemented by
// app.App).
type PluginReloader interface {
	// ReloadPlugins reloads; trigger is "api" or "sighup". The report is
	// returned (and kept) with the error too.
	ReloadPlugins(ctx context.Context, trigger string) (*PluginReloadReport, error)
	// LastReload is the last reload's report, nil before the first.
	LastReload() *PluginReloadReport
}
