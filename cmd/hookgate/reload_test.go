package main

import (
	"encoding/json"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/auth"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/testenv"
)

// SIGHUP re-reads the configuration file: a plugin added to it starts
// without a restart, and GET /v1/plugins reports the reload, with the
// settings that changed but need a restart.
func TestSIGHUPReloadsThePluginsOfTheConfigFile(t *testing.T) {
	bin := testenv.Build(t, "../../plugins/host/testdata/faulty")
	path, addr, _, _ := serveConfig(t, "")
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Mint(cfg.Auth, hookgate.Principal{Subject: "alice", Tenant: "acme", Roles: []string{hookgate.RoleAdmin}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer startServe(t, addr, io.Discard, "serve", "--config", path)()

	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(orig), "shutdown_timeout: 5s", "shutdown_timeout: 6s", 1) +
		"plugins:\n  - name: faulty\n    path: " + bin + "\n    env: {FAULT: none, FAULT_VERSION: \"4.2\"}\n"
	if err := os.WriteFile(path, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	type listing struct {
		Data []struct {
			Name, Version string
			Healthy       bool
		}
		LastReload *struct {
			Trigger       string
			RestartNeeded []string `json:"restart_needed"`
			Plugins       []struct{ Name, Result string }
		} `json:"last_reload"`
	}
	var l listing
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, body := call(t, "GET", "http://"+addr+"/v1/plugins", tok, "")
		if status != 200 {
			t.Fatalf("GET /v1/plugins: %d %s", status, body)
		}
		l = listing{}
		if err := json.Unmarshal([]byte(body), &l); err != nil {
			t.Fatal(err)
		}
		if l.LastReload != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP did not reload the plugins")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if l.LastReload.Trigger != "sighup" || len(l.LastReload.Plugins) != 1 || l.LastReload.Plugins[0].Result != "added" {
		t.Fatalf("last reload: %+v", l.LastReload)
	}
	if len(l.Data) != 1 || l.Data[0].Name != "faulty" || l.Data[0].Version != "4.2" || !l.Data[0].Healthy {
		t.Fatalf("plugins after SIGHUP: %+v", l.Data)
	}
	if strings.Join(l.LastReload.RestartNeeded, ",") != "server.shutdown_timeout" {
		t.Fatalf("restart_needed = %v, want [server.shutdown_timeout]", l.LastReload.RestartNeeded)
	}
}
