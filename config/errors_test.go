package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadValuesNameTheSettingWhereAndTheForm loads bad values through the
// real loader, from a file and from the environment: each error names the
// setting, the file and line or the variable, and the form expected.
func TestBadValuesNameTheSettingWhereAndTheForm(t *testing.T) {
	secrets := "auth:\n  hs256_secret: \"" + DevHS256Secret + "\"\nstore:\n  encryption_key: \"" + DevEncryptionKey + "\"\n"
	for _, tc := range []struct {
		name string
		yaml string   // after the 4 lines of secrets
		env  []string // instead of yaml
		want []string
	}{
		{"yaml duration", "delivery:\n  timeout: banana\n", nil,
			[]string{"config.yaml:6:", "delivery.timeout", `"banana"`, "a duration such as 5s or 1m30s"}},
		{"yaml duration without unit", "incoming:\n  rate: 5\n  timeout: 30\n", nil,
			[]string{"config.yaml:7:", "incoming.timeout", "a duration such as 5s or 1m30s"}},
		{"yaml duration in a list", "delivery:\n  retry_delays:\n    - 1m\n    - soon\n", nil,
			[]string{"config.yaml:8:", "delivery.retry_delays[1]", `"soon"`, "a duration such as 5s"}},
		{"yaml whole number", "server:\n  body_limit: 1MB\n", nil,
			[]string{"config.yaml:6:", "server.body_limit", "a whole number"}},
		{"yaml number", "delivery:\n  retry_jitter: lots\n", nil,
			[]string{"config.yaml:6:", "delivery.retry_jitter", "a number such as 0.5"}},
		{"yaml boolean", "delivery:\n  allow_http: maybe\n", nil,
			[]string{"config.yaml:6:", "delivery.allow_http", "true or false"}},
		{"yaml plugin duration", "plugins:\n  - name: chat\n    path: /bin/true\n    timeout: never\n", nil,
			[]string{"config.yaml:8:", "plugins[0].timeout", "a duration"}},
		{"yaml list given a scalar", "delivery:\n  retry_delays: 5s\n", nil,
			[]string{"config.yaml:6:", "delivery.retry_delays", "a list of values, each a duration"}},
		{"yaml unknown key", "server:\n  listn: \":80\"\n", nil,
			[]string{"config.yaml:6:", "server.listn", "unknown setting"}},
		{"env duration", "", []string{"HOOKGATE_DELIVERY_TIMEOUT=banana"},
			[]string{"HOOKGATE_DELIVERY_TIMEOUT", "delivery.timeout", `"banana"`, "a duration such as 5s or 1m30s"}},
		{"env other timeout", "", []string{"HOOKGATE_INCOMING_TIMEOUT=30"},
			[]string{"HOOKGATE_INCOMING_TIMEOUT", "incoming.timeout", "a duration such as 5s or 1m30s"}},
		{"env list of durations", "", []string{"HOOKGATE_DELIVERY_RETRY_DELAYS=1m,soon"},
			[]string{"HOOKGATE_DELIVERY_RETRY_DELAYS", "delivery.retry_delays", "a list of values, each a duration"}},
		{"env whole number", "", []string{"HOOKGATE_SERVER_BODY_LIMIT=1MB"},
			[]string{"HOOKGATE_SERVER_BODY_LIMIT", "server.body_limit", "a whole number"}},
		{"env number", "", []string{"HOOKGATE_INCOMING_RATE=fast"},
			[]string{"HOOKGATE_INCOMING_RATE", "incoming.rate", "a number such as 0.5"}},
		{"env boolean", "", []string{"HOOKGATE_PLUGINS_REQUIRED=yes please"},
			[]string{"HOOKGATE_PLUGINS_REQUIRED", "plugins_required", "true or false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(secrets+tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := load(path, tc.env)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range tc.want {
				if w == "config.yaml:" || strings.HasPrefix(w, "config.yaml:") {
					w = path + w[len("config.yaml"):]
				}
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}
