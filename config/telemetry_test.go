package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Tracing is off by default; its settings load from the environment and
// bad values are refused with the setting named.
func TestTelemetrySettings(t *testing.T) {
	secrets := "auth:\n  hs256_secret: \"" + DevHS256Secret + "\"\nstore:\n  encryption_key: \"" + DevEncryptionKey + "\"\n"
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(secrets), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Telemetry.On() || cfg.Telemetry.ServiceName != "hookgate" || cfg.Telemetry.SampleRatio != 1 || cfg.Telemetry.PropagateToEndpoints {
		t.Fatalf("defaults: %+v", cfg.Telemetry)
	}
	cfg, err = load(path, []string{"HOOKGATE_TELEMETRY_OTLP_ENDPOINT=http://collector:4318", "HOOKGATE_TELEMETRY_SERVICE_NAME=hooks-eu",
		"HOOKGATE_TELEMETRY_SAMPLE_RATIO=0.25", "HOOKGATE_TELEMETRY_PROPAGATE_TO_ENDPOINTS=true"})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Telemetry{OTLPEndpoint: "http://collector:4318", ServiceName: "hooks-eu", SampleRatio: 0.25, PropagateToEndpoints: true}); cfg.Telemetry != want {
		t.Fatalf("from the environment: %+v", cfg.Telemetry)
	}
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{[]string{"HOOKGATE_TELEMETRY_OTLP_ENDPOINT=collector:4318"}, "telemetry.otlp_endpoint: must be an http or https URL"},
		{[]string{"HOOKGATE_TELEMETRY_OTLP_ENDPOINT=grpc://collector:4317"}, "telemetry.otlp_endpoint: must be an http or https URL"},
		{[]string{"HOOKGATE_TELEMETRY_SAMPLE_RATIO=1.5"}, "telemetry.sample_ratio: must be between 0 and 1, not 1.5"},
		{[]string{"HOOKGATE_TELEMETRY_SAMPLE_RATIO=-0.1"}, "telemetry.sample_ratio: must be between 0 and 1"},
		{[]string{"HOOKGATE_TELEMETRY_SERVICE_NAME= "}, "telemetry.service_name: must not be empty"},
		{[]string{"HOOKGATE_TELEMETRY_PROPAGATE_TO_ENDPOINTS=true"}, "telemetry.propagate_to_endpoints: needs telemetry.otlp_endpoint"},
	} {
		_, err := load(path, tc.env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.env, err, tc.want)
		}
	}
}
