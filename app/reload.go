package app

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/plugins/host"
)

// Reload triggers (ReloadReport.Trigger).
const (
	TriggerAPI    = "api"
	TriggerSIGHUP = "sighup"
)

// ReloadPlugins re-reads the configuration through ConfigSource and applies
// its plugins section without a restart (see host.Reload): deliveries keep
// flowing, calls in flight finish on the processes they started on. A
// plugin still used by webhooks is not removed, nor upgraded to a version
// that drops what they use. Other settings that changed are listed in
// RestartNeeded and left as they are. A configuration that cannot be read
// or does not validate changes nothing: the error (code invalid_config) is
// returned and kept as the last reload's.
func (a *App) ReloadPlugins(ctx context.Context, trigger string) (*hookgate.PluginReloadReport, error) {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	rep := &hookgate.PluginReloadReport{At: time.Now().UTC(), Trigger: trigger, Plugins: []hookgate.PluginReloadResult{}, RestartNeeded: []string{}}
	var cfg config.Config
	err := fmt.Errorf("hookgate was started without a configuration source")
	if a.ConfigSource != nil {
		cfg, err = a.ConfigSource()
	}
	if err != nil {
		rep.Error = "the configuration was not reloaded: " + err.Error()
		a.lastReload = rep
		a.Logger.Warn("plugin reload failed", "trigger", trigger, "error", err)
		return rep, &hookgate.Error{Code: hookgate.EINVALIDCONFIG, Message: rep.Error, Err: err}
	}
	rep.RestartNeeded = restartNeeded(a.Config, cfg)
	results, err := a.Plugins.Reload(ctx, cfg.Plugins, a.pluginsInUse)
	if err != nil {
		rep.Error = "the plugins were not reloaded: " + err.Error()
		a.lastReload = rep
		return rep, &hookgate.Error{Code: hookgate.EUNAVAILABLE, Message: rep.Error, Err: err}
	}
	rep.Plugins = results
	var notApplied []string
	for _, r := range results {
		if r.Result == host.ReloadKeptOld || r.Result == host.ReloadFailed {
			notApplied = append(notApplied, r.Name+" ("+r.Result+"): "+r.Reason)
		}
	}
	if len(notApplied) > 0 {
		rep.Error = "not applied: " + strings.Join(notApplied, "; ")
	}
	a.Config.Plugins, a.Config.PluginsRequired = cfg.Plugins, cfg.PluginsRequired
	a.lastReload = rep
	a.Logger.Info("plugins reloaded", "trigger", trigger, "results", len(results), "not_applied", len(notApplied),
		"restart_needed", rep.RestartNeeded)
	return rep, nil
}

// LastReload is the last reload's report, nil before the first.
func (a *App) LastReload() *hookgate.PluginReloadReport {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	return a.lastReload
}

// maxUsersNamed bounds the webhooks a refusal names.
const maxUsersNamed = 10

// pluginsInUse is the reload's guard: it names the webhooks (outgoing ones
// by format or transform, incoming ones by transform) that use what a
// plugin would lose, or says why it could not tell (which refuses too).
func (a *App) pluginsInUse(ctx context.Context, plugin string, lost host.Provides) string {
	var users []string
	total := 0
	add := func(s string) {
		total++
		if len(users) < maxUsersNamed {
			users = append(users, s)
		}
	}
	tenants, err := a.Store.Tenants(ctx)
	if err != nil {
		return "could not check which webhooks use it: " + hookgate.ErrorMessage(err)
	}
	for _, t := range tenants {
		ws, err := a.Store.ListAllWebhooks(ctx, t)
		if err != nil {
			return "could not check which webhooks use it: " + hookgate.ErrorMessage(err)
		}
		for _, w := range ws {
			if slices.Contains(lost.Formats, w.Format) || slices.ContainsFunc(w.Transforms, func(tr string) bool { return slices.Contains(lost.Transforms, tr) }) {
				add(fmt.Sprintf("webhook %s (%s) of tenant %s", w.ID, w.Name, w.Tenant))
			}
		}
	}
	if lost.Incoming {
		tenants, err := a.Store.IncomingTenants(ctx)
		if err != nil {
			return "could not check which webhooks use it: " + hookgate.ErrorMessage(err)
		}
		for _, t := range tenants {
			ws, err := a.Store.FindIncoming(ctx, hookgate.IncomingFilter{Tenant: t})
			if err != nil {
				return "could not check which webhooks use it: " + hookgate.ErrorMessage(err)
			}
			for _, w := range ws {
				if w.Transform == plugin {
					add(fmt.Sprintf("incoming webhook %s (%s) of tenant %s", w.ID, w.Name, w.Tenant))
				}
			}
		}
	}
	if total == 0 {
		return ""
	}
	what := "it"
	if l := slices.Concat(lost.Formats, lost.Transforms); len(l) > 0 {
		what = strings.Join(l, ", ")
	}
	more := ""
	if total > len(users) {
		more = fmt.Sprintf(" and %d more", total-len(users))
	}
	return fmt.Sprintf("%s still used by %s%s; change or delete them first", what, strings.Join(users, ", "), more)
}

// restartNeeded names the settings (section.key) that differ between the
// running configuration and the new one and that only a restart applies:
// every one outside the plugins section.
func restartNeeded(running, next config.Config) []string {
	out := []string{}
	rv, nv := reflect.ValueOf(running), reflect.ValueOf(next)
	t := rv.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if name == "plugins" || name == "plugins_required" || name == "" || !f.IsExported() {
			continue
		}
		a, b := rv.Field(i), nv.Field(i)
		if f.Type.Kind() != reflect.Struct {
			if !reflect.DeepEqual(a.Interface(), b.Interface()) {
				out = append(out, name)
			}
			continue
		}
		for j := range f.Type.NumField() {
			sf := f.Type.Field(j)
			if !sf.IsExported() {
				continue
			}
			if !reflect.DeepEqual(a.Field(j).Interface(), b.Field(j).Interface()) {
				out = append(out, name+"."+yamlName(sf))
			}
		}
	}
	return out
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}
