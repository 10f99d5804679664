package config

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/hookgate/hookgate/internal/netguard"
)

// FuzzConfigLoad loads arbitrary YAML (no environment) as `hookgate serve
// --config` does. It never panics, and a configuration it accepts is one
// hookgate can run on and write back: it validates again without changing,
// it encodes to YAML that loads into the same configuration, and its
// allow-list builds the SSRF guard.
func FuzzConfigLoad(f *testing.F) {
	shipped, err := os.ReadFile("../config.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(shipped)
	secrets := "auth:\n  hs256_secret: \"" + DevHS256Secret + "\"\nstore:\n  encryption_key: \"" + DevEncryptionKey + "\"\n"
	for _, seed := range []string{
		secrets,
		secrets + "delivery:\n  retry_delays: [1s, 5m]\n  retry_jitter: 0.5\n  allowed_cidrs: [127.0.0.0/8, \"::1/128\"]\n",
		secrets + "delivery:\n  retry_jitter: .nan\n",
		secrets + "incoming:\n  rate: .inf\n",
		secrets + "delivery:\n  allowed_cidrs: [\"::ffff:10.0.0.0/104\", \"fe80::%eth0/64\"]\n",
		secrets + "redis:\n  prefix: \"a:b\"\nserver:\n  listen: \"[::1]:0\"\n  public_url: \"https://h.example/base?x#y\"\n",
		secrets + "plugins:\n  - name: chat\n    path: /bin/true\n    settings: {prefix: \"[crm] \"}\n    env: {A: b}\n",
		secrets + "incoming:\n  scopes:\n    crm:\n      prefixes: [/crm/]\n      upstream: \"http://crm:9000\"\n      methods: [GET, POST]\n",
		secrets + "events:\n  extra_types: [{type: a.b, category: x}]\n",
		secrets + "lifecycle:\n  rotation_grace: 1h\n  max_rotation_grace: 1h\n",
		secrets + "webhooks:\n  max_name_length: 9223372036854775807\n",
		"a: &a [*a, *a]\n",
		"server: {listen: 1}\n",
		"{",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := parse("fuzz.yaml", b, nil)
		if err != nil {
			return
		}
		before, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatalf("an accepted configuration does not encode: %v", err)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("accepted, then refused: %v", err)
		}
		after, _ := yaml.Marshal(cfg)
		if !bytes.Equal(before, after) {
			t.Fatalf("validating again changed the configuration:\n%s\n---\n%s", before, after)
		}
		back, err := parse("written.yaml", before, nil)
		if err != nil {
			t.Fatalf("the configuration written back is refused: %v\n%s", err, before)
		}
		if again, _ := yaml.Marshal(back); !bytes.Equal(before, again) {
			t.Fatalf("written and read back, the configuration changed:\n%s\n---\n%s", before, again)
		}
		if _, err := netguard.New(cfg.Delivery.AllowedCIDRs); err != nil {
			t.Fatalf("delivery.allowed_cidrs %q accepted, but the guard refuses it: %v", cfg.Delivery.AllowedCIDRs, err)
		}
		// NaN passes every "x < 0" check; the limits must be numbers.
		if j := cfg.Delivery.RetryJitter; !(j >= 0 && j < 1) {
			t.Fatalf("delivery.retry_jitter %v accepted", j)
		}
		if r := cfg.Incoming.Rate; !(r > 0) || math.IsInf(r, 0) {
			t.Fatalf("incoming.rate %v accepted", r)
		}
		if !validPrefix(cfg.Redis.Prefix) || strings.ContainsAny(cfg.Redis.Prefix, "*?[") {
			t.Fatalf("redis.prefix %q accepted", cfg.Redis.Prefix)
		}
	})
}
