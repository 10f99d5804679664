package config

import (
	"strings"
	"testing"
	"time"
)

func TestPluginEntriesAreValidated(t *testing.T) {
	for _, tc := range []struct {
		name    string
		plugins []Plugin
		field   string
	}{
		{"ok", []Plugin{{Name: "cloudcx", Path: "bin/plugins/cloudcx"}}, ""},
		{"no name", []Plugin{{Path: "x"}}, "plugins[0].name"},
		{"name with slash", []Plugin{{Name: "a/b", Path: "x"}}, "plugins[0].name"},
		{"duplicate", []Plugin{{Name: "a", Path: "x"}, {Name: "a", Path: "y"}}, "plugins[1].name"},
		{"no path", []Plugin{{Name: "a"}}, "plugins[0].path"},
		{"negative timeout", []Plugin{{Name: "a", Path: "x", Timeout: -1}}, "plugins[0].timeout"},
		{"bad sha256", []Plugin{{Name: "a", Path: "x", SHA256: "abc"}}, "plugins[0].sha256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.Auth.HS256Secret = DevHS256Secret
			c.Store.EncryptionKey = DevEncryptionKey
			c.Plugins = tc.plugins
			err := c.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.Plugins[0].Timeout.D() != 2*time.Second || c.Plugins[0].MaxOutput != 1<<20 {
					t.Fatalf("defaults not applied: %+v", c.Plugins[0])
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("want an error naming %s, got %v", tc.field, err)
			}
		})
	}
}

func TestShippedConfigRegistersTheBuiltInPlugins(t *testing.T) {
	c, err := load("../config.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range c.Plugins {
		names = append(names, p.Name+"="+p.Path)
	}
	if got := strings.Join(names, ","); got != "cloudcx=bin/plugins/cloudcx,uspacy=bin/plugins/uspacy,ucrm=bin/plugins/ucrm" {
		t.Fatalf("plugins %s", got)
	}
}
