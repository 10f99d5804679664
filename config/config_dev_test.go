package config

import (
	"slices"
	"testing"
)

func TestDevModeOpensLoopbackHTTPAndBindsLoopback(t *testing.T) {
	for listen, want := range map[string]string{":8080": "127.0.0.1:8080", "0.0.0.0:9090": "127.0.0.1:9090", "[::]:7000": "127.0.0.1:7000"} {
		c := Default()
		c.Auth.HS256Secret, c.Store.EncryptionKey = DevHS256Secret, DevEncryptionKey
		c.Server.Listen = listen
		c.Delivery.AllowedCIDRs = []string{"10.1.0.0/16", "127.0.0.0/8"}
		if err := c.Dev(); err != nil {
			t.Fatal(err)
		}
		if c.Server.Listen != want || !c.Delivery.AllowHTTP {
			t.Fatalf("%s: listen %s allow_http %v", listen, c.Server.Listen, c.Delivery.AllowHTTP)
		}
		if !slices.Equal(c.Delivery.AllowedCIDRs, []string{"10.1.0.0/16", "127.0.0.0/8", "::1/128"}) {
			t.Fatalf("allowed_cidrs %v", c.Delivery.AllowedCIDRs)
		}
	}
}
