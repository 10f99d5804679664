// Package testenv holds what hookgate's tests share: the Redis they talk to
// and the keys they leave there, the configuration of a hookgate serving on
// loopback with its own key prefix, polling, a log buffer, free ports, and
// the -short switch between the fast suite and the whole one. Only tests
// import it.
package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
)

// RedisAddr is the Redis the tests use: $REDIS_ADDR, else 127.0.0.1:6379.
func RedisAddr() string {
	if a := os.Getenv("REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// Prefix returns a fresh Redis key prefix starting with stem.
func Prefix(stem string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return stem + hex.EncodeToString(b[:])
}

// Config is the defaults with the development keys, a fresh prefix, a
// loopback listener, loopback receivers allowed past the SSRF guard, and
// retries short enough for tests (50 ms, then 100 ms, no jitter).
func Config(stem string) config.Config {
	cfg := config.Default()
	cfg.Redis.Addr = RedisAddr()
	cfg.Redis.Prefix = Prefix(stem)
	cfg.Auth.HS256Secret = config.DevHS256Secret
	cfg.Store.EncryptionKey = config.DevEncryptionKey
	cfg.Server.Listen = "127.0.0.1:0"
	cfg.Delivery.AllowHTTP = true
	cfg.Delivery.AllowedCIDRs = []string{"127.0.0.0/8"}
	cfg.Delivery.RetryDelays = []hookgate.Duration{hookgate.Duration(50 * time.Millisecond), hookgate.Duration(100 * time.Millisecond)}
	cfg.Delivery.RetryJitter = 0
	cfg.Delivery.Timeout = hookgate.Duration(2 * time.Second)
	return cfg
}
