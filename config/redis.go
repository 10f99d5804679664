package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// validate checks the redis section: the addresses each mode needs, the
// settings that only make sense in one mode, the TLS files and the replica
// acknowledgements. Addresses are trimmed ("a:1, b:2" in the environment).
func (r *Redis) validate(bad func(string, string, ...any) error) error {
	for i := range r.Addrs {
		r.Addrs[i] = strings.TrimSpace(r.Addrs[i])
	}
	hostPort := func(field, a string) error {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			return bad(field, "%q must be host:port", a)
		}
		return nil
	}
	switch r.Mode {
	case RedisStandalone:
		if r.Addr == "" {
			return bad("redis.addr", "is required")
		}
		if err := hostPort("redis.addr", r.Addr); err != nil {
			return err
		}
		if r.MasterName != "" {
			return bad("redis.master_name", "is for redis.mode sentinel; set redis.mode: sentinel and redis.addrs to the Sentinels")
		}
		if len(r.Addrs) > 0 {
			return bad("redis.addrs", "is for redis.mode sentinel or cluster; standalone uses redis.addr")
		}
	case RedisSentinel, RedisCluster:
		if len(r.Addrs) == 0 {
			what := "the Sentinels"
			if r.Mode == RedisCluster {
				what = "some of the cluster's nodes"
			}
			return bad("redis.addrs", "is required in %s mode: %s, host:port comma-separated", r.Mode, what)
		}
		for _, a := range r.Addrs {
			if err := hostPort("redis.addrs", a); err != nil {
				return err
			}
		}
		if r.Mode == RedisSentinel && r.MasterName == "" {
			return bad("redis.master_name", "is required in sentinel mode: the name the Sentinels monitor the master under")
		}
		if r.Mode == RedisCluster {
			if r.MasterName != "" {
				return bad("redis.master_name", "is for redis.mode sentinel, not cluster")
			}
			if r.DB != 0 {
				return bad("redis.db", "must be 0 in cluster mode (a Redis Cluster has database 0 only)")
			}
		}
	default:
		return bad("redis.mode", "must be standalone, sentinel or cluster, not %q", r.Mode)
	}
	if r.Mode != RedisSentinel && r.SentinelUsername != "" {
		return bad("redis.sentinel_username", "is for redis.mode sentinel")
	}
	if r.Mode != RedisSentinel && r.SentinelPassword != "" {
		return bad("redis.sentinel_password", "is for redis.mode sentinel")
	}
	if r.DB < 0 {
		return bad("redis.db", "must not be negative")
	}
	if r.PoolSize < 0 {
		return bad("redis.pool_size", "must be 0 (the client's default) or positive")
	}
	if !r.TLS && (r.TLSCAFile != "" || r.TLSCertFile != "" || r.TLSKeyFile != "" || r.TLSServerName != "") {
		return bad("redis.tls", "must be true when a redis.tls_* setting is given")
	}
	if r.TLS {
		if _, err := r.TLSConfig(); err != nil {
			return bad("redis.tls", "%v", err)
		}
	}
	if r.ReplicaAcks < 0 || r.ReplicaAcks > 16 {
		return bad("redis.replica_acks", "must be from 0 (do not wait) to 16")
	}
	if r.ReplicaAckTimeout <= 0 || r.ReplicaAckTimeout.D() > time.Minute {
		return bad("redis.replica_ack_timeout", "must be between 1ns and 1m")
	}
	return nil
}

// TLSConfig returns the TLS settings of redis.tls* (nil when redis.tls is
// off): the CA file's certificates as the roots, the client certificate
// when given, at least TLS 1.2. It reads the files, so an error names the
// file that could not be used.
func (r *Redis) TLSConfig() (*tls.Config, error) {
	if !r.TLS {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: r.TLSServerName}
	if r.TLSCAFile != "" {
		pem, err := os.ReadFile(r.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("redis.tls_ca_file: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("redis.tls_ca_file %s holds no PEM certificate", r.TLSCAFile)
		}
	}
	if (r.TLSCertFile == "") != (r.TLSKeyFile == "") {
		return nil, fmt.Errorf("redis.tls_cert_file and redis.tls_key_file go together")
	}
	if r.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(r.TLSCertFile, r.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("redis.tls_cert_file/tls_key_file: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
