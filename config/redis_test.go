package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func validBase() Config {
	c := Default()
	c.Auth.HS256Secret = DevHS256Secret
	c.Store.EncryptionKey = DevEncryptionKey
	return c
}

func TestRedisModesNeedTheirSettings(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	sentinel := func(c *Config) {
		c.Redis.Mode, c.Redis.Addrs, c.Redis.MasterName = RedisSentinel, []string{"s1:26379", "s2:26379"}, "hookgate"
	}
	cluster := func(c *Config) { c.Redis.Mode, c.Redis.Addrs = RedisCluster, []string{"n1:6379"} }
	for _, tc := range []struct {
		field, says string
		mut         func(*Config)
	}{
		{"redis.mode", "standalone, sentinel or cluster", func(c *Config) { c.Redis.Mode = "replicated" }},
		{"redis.addr", "required", func(c *Config) { c.Redis.Addr = "" }},
		{"redis.addr", "host:port", func(c *Config) { c.Redis.Addr = "redis" }},
		{"redis.addrs", "standalone uses redis.addr", func(c *Config) { c.Redis.Addrs = []string{"a:1"} }},
		{"redis.master_name", "sentinel", func(c *Config) { c.Redis.MasterName = "m" }},
		{"redis.addrs", "required in sentinel mode", func(c *Config) { sentinel(c); c.Redis.Addrs = nil }},
		{"redis.addrs", "host:port", func(c *Config) { sentinel(c); c.Redis.Addrs = []string{"s1"} }},
		{"redis.master_name", "required in sentinel mode", func(c *Config) { sentinel(c); c.Redis.MasterName = "" }},
		{"redis.addrs", "required in cluster mode", func(c *Config) { cluster(c); c.Redis.Addrs = nil }},
		{"redis.db", "must be 0 in cluster mode", func(c *Config) { cluster(c); c.Redis.DB = 2 }},
		{"redis.master_name", "not cluster", func(c *Config) { cluster(c); c.Redis.MasterName = "m" }},
		{"redis.sentinel_password", "sentinel", func(c *Config) { c.Redis.SentinelPassword = "x" }},
		{"redis.sentinel_username", "sentinel", func(c *Config) { cluster(c); c.Redis.SentinelUsername = "x" }},
		{"redis.db", "negative", func(c *Config) { c.Redis.DB = -1 }},
		{"redis.tls", "must be true", func(c *Config) { c.Redis.TLSCAFile = notPEM }},
		{"redis.tls", "no PEM certificate", func(c *Config) { c.Redis.TLS, c.Redis.TLSCAFile = true, notPEM }},
		{"redis.tls", "no such file", func(c *Config) { c.Redis.TLS, c.Redis.TLSCAFile = true, filepath.Join(dir, "missing.pem") }},
		{"redis.tls", "go together", func(c *Config) { c.Redis.TLS, c.Redis.TLSCertFile = true, notPEM }},
		{"redis.replica_acks", "from 0", func(c *Config) { c.Redis.ReplicaAcks = -1 }},
		{"redis.replica_ack_timeout", "between", func(c *Config) { c.Redis.ReplicaAckTimeout = 0 }},
		{"redis.replica_ack_timeout", "between", func(c *Config) { c.Redis.ReplicaAckTimeout = Duration(2 * time.Minute) }},
	} {
		c := validBase()
		tc.mut(&c)
		err := c.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), "config: "+tc.field+": ") || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s (%s): got %v", tc.field, tc.says, err)
		}
	}
	for name, mut := range map[string]func(*Config){
		"sentinel": sentinel, "cluster": cluster,
		"tls with the system roots": func(c *Config) { c.Redis.TLS = true },
		"replica acks":              func(c *Config) { sentinel(c); c.Redis.ReplicaAcks = 1 },
	} {
		c := validBase()
		mut(&c)
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestRedisSeedsFromTheEnvironment(t *testing.T) {
	cfg, err := load("", []string{
		"HOOKGATE_AUTH_HS256_SECRET=" + DevHS256Secret, "HOOKGATE_STORE_ENCRYPTION_KEY=" + DevEncryptionKey,
		"HOOKGATE_REDIS_MODE=sentinel", "HOOKGATE_REDIS_ADDRS=s1:26379, s2:26379,s3:26379",
		"HOOKGATE_REDIS_MASTER_NAME=hookgate", "HOOKGATE_REDIS_REPLICA_ACKS=1",
	})
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Redis
	if r.Mode != RedisSentinel || strings.Join(r.Addrs, "|") != "s1:26379|s2:26379|s3:26379" || r.MasterName != "hookgate" || r.ReplicaAcks != 1 {
		t.Fatalf("redis: %+v", r)
	}
}

// A typo in a variable name used to be ignored silently, and hookgate ran
// on the default Redis; it is now a warning naming the closest setting.
func TestUnknownEnvironmentVariablesAreReported(t *testing.T) {
	cfg, err := load("", []string{
		"HOOKGATE_AUTH_HS256_SECRET=" + DevHS256Secret, "HOOKGATE_STORE_ENCRYPTION_KEY=" + DevEncryptionKey,
		"HOOKGATE_REDIS_ADRS=redis:6379", "HOOKGATE_REDIS_ADR=redis:6379", "HOOKGATE_REDIS_ADDRX=redis:6379", "HOOKGATE_DELIVERY_TIMEOT=3s", "HOOKGATE_ZZZZZZZZZZZZZZZZZZZZZZZZ=1",
		"HOOKGATE_REDIS_ADDR=127.0.0.1:6379", "REDIS_ADRS=not ours",
	})
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(cfg.Warnings(), "\n")
	for _, want := range []string{
		"HOOKGATE_REDIS_ADRS is not a hookgate setting and is ignored (did you mean HOOKGATE_REDIS_ADDRS?)",
		"HOOKGATE_REDIS_ADR is not a hookgate setting and is ignored (did you mean HOOKGATE_REDIS_ADDR?)",
		"HOOKGATE_REDIS_ADDRX is not a hookgate setting and is ignored (did you mean HOOKGATE_REDIS_ADDR or HOOKGATE_REDIS_ADDRS?)",
		"HOOKGATE_DELIVERY_TIMEOT is not a hookgate setting and is ignored (did you mean HOOKGATE_DELIVERY_TIMEOUT?)",
		"HOOKGATE_ZZZZZZZZZZZZZZZZZZZZZZZZ is not a hookgate setting and is ignored; settings: docs/configuration.md",
	} {
		if !strings.Contains(w, want) {
			t.Errorf("no warning %q in:\n%s", want, w)
		}
	}
	if strings.Contains(w, "REDIS_ADRS=") || strings.Contains(w, "redis:6379") || strings.Contains(w, "variable HOOKGATE_REDIS_ADDR ") || strings.Contains(w, "variable REDIS_ADRS") {
		t.Errorf("a known or foreign variable, or a value, is reported:\n%s", w)
	}
	cfg, err = load("", []string{"HOOKGATE_AUTH_HS256_SECRET=" + DevHS256Secret, "HOOKGATE_STORE_ENCRYPTION_KEY=" + DevEncryptionKey})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range cfg.Warnings() {
		if strings.Contains(w, "environment variable") {
			t.Errorf("known variables only, yet: %s", w)
		}
	}
}

func TestEnvNamesAreTheDocumentedOnes(t *testing.T) {
	var want []string
	for _, k := range keys() {
		if k.env != "" {
			want = append(want, k.env)
		}
	}
	got := EnvNames()
	if len(got) != len(want) {
		t.Fatalf("EnvNames has %d names, the keys %d", len(got), len(want))
	}
	in := map[string]bool{}
	for _, n := range got {
		in[n] = true
	}
	for _, n := range want {
		if !in[n] {
			t.Errorf("%s missing from EnvNames", n)
		}
	}
}
