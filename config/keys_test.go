package config

import (
	"flag"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

var printKeys = flag.Bool("print-keys", false, "print the configuration key table rows for docs/configuration.md")

// key is one configuration setting as docs/configuration.md lists it.
type key struct {
	path  string // YAML path: server.listen, plugins[].timeout
	env   string // environment variable, "" when the key is YAML only
	def   string // default, as written in the doc
	field []int  // reflect index path from Config; nil inside plugins[]
}

// keys walks Config and lists every setting with its environment variable
// (from the yaml, env and envPrefix tags, as Load reads them) and its
// default (from Default, or from the plugin defaults Validate applies).
func keys() []key {
	var out []key
	var walk func(t reflect.Type, v reflect.Value, yamlPrefix, envPrefix string, index []int, inPlugins bool)
	walk = func(t reflect.Type, v reflect.Value, yamlPrefix, envPrefix string, index []int, inPlugins bool) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			path := yamlPrefix + name
			idx := append(slices.Clone(index), i)
			switch {
			case f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(Duration(0)) && inPlugins:
				walk(f.Type, reflect.Value{}, path+".", "", nil, true)
				continue
			case f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(Duration(0)):
				walk(f.Type, v.Field(i), path+".", envPrefix+f.Tag.Get("envPrefix"), idx, inPlugins)
				continue
			case f.Type == reflect.TypeOf([]Plugin(nil)):
				walk(f.Type.Elem(), reflect.Value{}, path+"[].", "", nil, true)
				continue
			}
			k := key{path: path}
			if e := f.Tag.Get("env"); e != "" && !inPlugins {
				k.env = "HOOKGATE_" + envPrefix + e
			}
			if inPlugins {
				k.def = pluginDefault(name)
			} else {
				k.def = format(v.Field(i))
				k.field = idx
			}
			out = append(out, k)
		}
	}
	walk(reflect.TypeOf(Config{}), reflect.ValueOf(Default()), "", "", nil, false)
	return out
}

func pluginDefault(name string) string {
	switch name {
	case "name", "path":
		return "(required)"
	case "timeout":
		return format(reflect.ValueOf(DefaultPluginTimeout))
	case "max_output":
		return format(reflect.ValueOf(DefaultPluginMaxOutput))
	case "failures":
		return format(reflect.ValueOf(DefaultBreakerFailures))
	case "cooldown":
		return format(reflect.ValueOf(DefaultBreakerCooldown))
	}
	return `(none)`
}

// format writes a default the way config.yaml would.
func format(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case Duration:
		s := time.Duration(x).String()
		if strings.HasSuffix(s, "m0s") {
			s = strings.TrimSuffix(s, "0s")
		}
		if strings.HasSuffix(s, "h0m") {
			s = strings.TrimSuffix(s, "0m")
		}
		return s
	case string:
		if x == "" {
			return `(none)`
		}
		return x
	}
	switch v.Kind() {
	case reflect.Slice:
		if v.Len() == 0 {
			return "[]"
		}
		parts := make([]string, v.Len())
		for i := range v.Len() {
			parts[i] = format(v.Index(i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case reflect.Map:
		ks := v.MapKeys()
		sort.Slice(ks, func(i, j int) bool { return ks[i].String() < ks[j].String() })
		parts := make([]string, len(ks))
		for i, k := range ks {
			parts[i] = k.String() + ": " + format(v.MapIndex(k))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v.Interface())
}

// docRows reads the key table of docs/configuration.md: rows of the form
// | `key` | `ENV` or (YAML only) | `default` | meaning |.
func docRows(t *testing.T) map[string][4]string {
	t.Helper()
	b, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][4]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		if len(cells) < 4 {
			t.Errorf("row with fewer than 4 columns: %s", line)
			continue
		}
		var row [4]string
		for i := range 3 {
			row[i] = strings.Trim(strings.TrimSpace(cells[i]), "`")
		}
		row[3] = strings.TrimSpace(strings.Join(cells[3:], " | "))
		if _, dup := rows[row[0]]; dup {
			t.Errorf("key %s is listed twice", row[0])
		}
		rows[row[0]] = row
	}
	return rows
}

// TestConfigurationDocListsEveryKeyWithItsDefaultAndEnvVar keeps
// docs/configuration.md true: every key of Config is there with the
// environment variable Load reads and the default Default returns, and the
// doc lists no key that does not exist. Run with -print-keys to get the
// rows for a new key.
func TestConfigurationDocListsEveryKeyWithItsDefaultAndEnvVar(t *testing.T) {
	ks := keys()
	if *printKeys {
		for _, k := range ks {
			env := "(YAML only)"
			if k.env != "" {
				env = "`" + k.env + "`"
			}
			fmt.Printf("| `%s` | %s | `%s` | |\n", k.path, env, k.def)
		}
	}
	rows := docRows(t)
	for _, k := range ks {
		row, ok := rows[k.path]
		if !ok {
			t.Errorf("docs/configuration.md does not list %s (env %s, default %s)", k.path, k.env, k.def)
			continue
		}
		wantEnv := k.env
		if wantEnv == "" {
			wantEnv = "(YAML only)"
		}
		if row[1] != wantEnv {
			t.Errorf("%s: doc says env %q, the code reads %q", k.path, row[1], wantEnv)
		}
		if row[2] != k.def {
			t.Errorf("%s: doc says default %q, Default() is %q", k.path, row[2], k.def)
		}
		if row[3] == "" {
			t.Errorf("%s: no meaning given", k.path)
		}
		delete(rows, k.path)
	}
	for path := range rows {
		t.Errorf("docs/configuration.md lists %s, which is not a configuration key", path)
	}
}

// TestEveryEnvironmentVariableOverridesItsKey sets each documented
// environment variable and checks that it changes the key it names, so that
// the names in the doc are the names Load reads.
func TestEveryEnvironmentVariableOverridesItsKey(t *testing.T) {
	n := 0
	for _, k := range keys() {
		if k.env == "" {
			continue
		}
		n++
		def := reflect.ValueOf(Default()).FieldByIndex(k.field)
		var sample string
		switch def.Interface().(type) {
		case Duration:
			sample = "7s"
		case []Duration:
			sample = "3s,4s"
		case []string:
			sample = "10.0.0.0/8,192.168.0.0/16"
		case bool:
			sample = fmt.Sprint(!def.Bool())
		case int:
			sample = "12345"
		case float64:
			sample = "0.25"
		case string:
			sample = "zz-from-env"
		default:
			t.Fatalf("%s: no sample for %T", k.path, def.Interface())
		}
		cfg, _ := load("", []string{k.env + "=" + sample}) // validation may refuse the sample; the value is still read
		got := reflect.ValueOf(cfg).FieldByIndex(k.field)
		if reflect.DeepEqual(got.Interface(), def.Interface()) {
			t.Errorf("%s=%s did not change %s (still %v)", k.env, sample, k.path, got.Interface())
		}
	}
	if n < 40 {
		t.Fatalf("only %d environment variables found; the walk is broken", n)
	}
}

func TestLoadLayersDefaultsFileAndEnvironment(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/config.yaml"
	if err := os.WriteFile(path, []byte(`
server: {listen: "127.0.0.1:9999", body_limit: 4096}
events: {max_payload: 2048}
auth: {hs256_secret: "a-file-secret-that-is-long-enough-0123"}
store: {encryption_key: "`+DevEncryptionKey+`"}
delivery: {retry_delays: [1s, 2s]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := load(path, []string{"HOOKGATE_SERVER_LISTEN=127.0.0.1:7777", "HOOKGATE_DELIVERY_RETRY_DELAYS=5s,6s,7s", "UNRELATED=1"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Listen != "127.0.0.1:7777" || cfg.Server.BodyLimit != 4096 || cfg.Redis.Addr != "127.0.0.1:6379" ||
		!slices.Equal(cfg.Delivery.RetryDelays, []Duration{Duration(5 * time.Second), Duration(6 * time.Second), Duration(7 * time.Second)}) {
		t.Fatalf("layers: %+v", cfg)
	}
	// An unknown key in the file is a mistake, not something to ignore.
	if err := os.WriteFile(path, []byte("server: {listn: \":1\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := load(path, nil); err == nil || !strings.Contains(err.Error(), "listn") {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestValidateNamesTheBadField(t *testing.T) {
	valid := func() Config {
		c := Default()
		c.Auth.HS256Secret = DevHS256Secret
		c.Store.EncryptionKey = DevEncryptionKey
		return c
	}
	if c := valid(); c.Validate() != nil {
		t.Fatalf("the valid base does not validate: %v", c.Validate())
	}
	for _, tc := range []struct {
		field string
		mut   func(*Config)
	}{
		{"server.listen", func(c *Config) { c.Server.Listen = "8080" }},
		{"server.public_url", func(c *Config) { c.Server.PublicURL = "hooks.example.com" }},
		{"server.role", func(c *Config) { c.Server.Role = "both" }},
		{"server.read_timeout", func(c *Config) { c.Server.ReadTimeout = 0 }},
		{"server.body_limit", func(c *Config) { c.Server.BodyLimit = 10 }},
		{"auth.roles", func(c *Config) { c.Auth.Roles = nil }},
		{"auth.hs256_secret", func(c *Config) { c.Auth.HS256Secret = "\n" + strings.Repeat("0", 32) }},
		{"auth.hs256_secret", func(c *Config) { c.Auth.HS256Secret = strings.Repeat("0", 32) + "\n" }},
		{"auth.roles", func(c *Config) { c.Auth.Roles = map[string][]string{"admin": nil} }},
		{"server.trusted_proxies", func(c *Config) { c.Server.TrustedProxies = []string{"load-balancer"} }},
		{"server.trusted_proxies", func(c *Config) { c.Server.TrustedProxies = []string{"10.0.0.0/33"} }},
		{"server.header_limit", func(c *Config) { c.Server.HeaderLimit = 1024 }},
		{"server.header_limit", func(c *Config) { c.Server.HeaderLimit = 2 << 20 }},
		{"redis.addr", func(c *Config) { c.Redis.Addr = "" }},
		{"delivery.queue_shards", func(c *Config) { c.Delivery.QueueShards = 0 }},
		{"delivery.queue_shards", func(c *Config) { c.Delivery.QueueShards = MaxQueueShards + 1 }},
		{"delivery.queue_shards", func(c *Config) { c.Delivery.Concurrency, c.Delivery.QueueShards = 2, 3 }},
		{"redis.prefix", func(c *Config) { c.Redis.Prefix = "a b" }},
		// Glob characters would make the documented ACL patterns, and
		// SCAN-ing a deployment's keys, match other deployments' keys.
		{"redis.prefix", func(c *Config) { c.Redis.Prefix = "hook*" }},
		{"redis.prefix", func(c *Config) { c.Redis.Prefix = "hook?" }},
		{"redis.prefix", func(c *Config) { c.Redis.Prefix = "h[a-z]" }},
		{"redis.prefix", func(c *Config) { c.Redis.Prefix = `h\x` }},
		{"redis.prefix", func(c *Config) { c.Redis.Prefix = "h\tx" }},
		{"auth.algorithms", func(c *Config) { c.Auth.Algorithms = []string{"none"} }},
		{"auth.algorithms", func(c *Config) { c.Auth.Algorithms = nil }},
		{"auth.hs256_secret", func(c *Config) { c.Auth.HS256Secret = "short" }},
		{"auth.public_keys", func(c *Config) { c.Auth.Algorithms = []string{"RS256"} }},
		{"auth.roles", func(c *Config) { c.Auth.Roles = map[string][]string{"root": {"x"}} }},
		{"auth.leeway", func(c *Config) { c.Auth.Leeway = Duration(time.Hour) }},
		{"store.encryption_key", func(c *Config) { c.Store.EncryptionKey = "dG9vIHNob3J0" }},
		{"webhooks.max_endpoints", func(c *Config) { c.Webhooks.MaxEndpoints = 0 }},
		{"webhooks.min_secret_length", func(c *Config) { c.Webhooks.MinSecretLength = 8 }},
		{"webhooks.page_size", func(c *Config) { c.Webhooks.PageSize = 500 }},
		{"events.max_payload", func(c *Config) { c.Events.MaxPayload = 2 << 20 }},
		{"delivery.timeout", func(c *Config) { c.Delivery.Timeout = Duration(time.Minute) }},
		{"delivery.max_request_body", func(c *Config) { c.Delivery.MaxRequestBody = 0 }},
		{"delivery.max_request_body", func(c *Config) { c.Delivery.MaxRequestBody = 16<<20 + 1 }},
		{"delivery.retry_delays", func(c *Config) { c.Delivery.RetryDelays = []Duration{Duration(time.Second), 0} }},
		{"delivery.retry_jitter", func(c *Config) { c.Delivery.RetryJitter = 1 }},
		{"delivery.retry_jitter", func(c *Config) { c.Delivery.RetryJitter = math.NaN() }},
		{"incoming.rate", func(c *Config) { c.Incoming.Rate = math.NaN() }},
		{"incoming.rate", func(c *Config) { c.Incoming.Rate = math.Inf(1) }},
		{"delivery.gone_policy", func(c *Config) { c.Delivery.GonePolicy = "ignore" }},
		{"delivery.allowed_cidrs", func(c *Config) { c.Delivery.AllowedCIDRs = []string{"10.0.0.1"} }},
		{"log.level", func(c *Config) { c.Log.Level = "verbose" }},
		{"log.format", func(c *Config) { c.Log.Format = "xml" }},
	} {
		c := valid()
		tc.mut(&c)
		err := c.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), "config: "+tc.field+": ") {
			t.Errorf("%s: got %v", tc.field, err)
		}
	}
}

func TestShippedConfigIsValidAndMatchesTheDefaults(t *testing.T) {
	cfg, err := load("../config.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	// config.yaml says "every value here is also the built-in default unless
	// marked otherwise": the development secrets and the plugins are the
	// marked exceptions, and so are the example incoming scopes.
	def := Default()
	cfg.Auth.HS256Secret, cfg.Store.EncryptionKey, cfg.Plugins = "", "", nil
	cfg.Incoming.Scopes = def.Incoming.Scopes
	file, _ := yaml.Marshal(cfg) // YAML, so that an empty list and no list compare equal
	code, _ := yaml.Marshal(def)
	if string(file) != string(code) {
		t.Fatalf("config.yaml differs from Default():\n file:\n%s\n code:\n%s", file, code)
	}
}

func TestWarningsNameUnsafeSettings(t *testing.T) {
	c := Default()
	c.Auth.HS256Secret, c.Store.EncryptionKey = "a-real-secret-of-enough-length-0123456789", "cmVhbA=="
	c.Incoming.SigningKey = "/etc/hookgate/owner.pem"
	if w := c.Warnings(); len(w) != 0 {
		t.Fatalf("safe settings warn: %v", w)
	}
	c.Auth.HS256Secret, c.Store.EncryptionKey = DevHS256Secret, DevEncryptionKey
	c.Delivery.AllowHTTP, c.Delivery.AllowedCIDRs = true, []string{"127.0.0.0/8"}
	c.Incoming.SigningKey = ""
	w := strings.Join(c.Warnings(), "\n")
	for _, field := range []string{"auth.hs256_secret", "store.encryption_key", "delivery.allow_http", "delivery.allowed_cidrs", "incoming.signing_key"} {
		if !strings.Contains(w, field) {
			t.Errorf("no warning names %s:\n%s", field, w)
		}
	}
	if strings.Contains(w, DevHS256Secret) || strings.Contains(w, DevEncryptionKey) {
		t.Errorf("a warning repeats a secret:\n%s", w)
	}
}
