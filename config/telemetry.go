package config

import (
	"net/url"
	"strings"
)

// Telemetry is OpenTelemetry tracing (docs/telemetry.md). It is off unless
// otlp_endpoint is set: no exporter runs and the code paths cost a nil check.
type Telemetry struct {
	// OTLPEndpoint is the OTLP/HTTP receiver spans are sent to, such as
	// http://otel-collector:4318 (the path defaults to /v1/traces). Empty:
	// tracing is off. Default empty.
	OTLPEndpoint string `yaml:"otlp_endpoint" env:"OTLP_ENDPOINT"`
	// ServiceName is the service.name resource attribute; default "hookgate".
	ServiceName string `yaml:"service_name" env:"SERVICE_NAME"`
	// SampleRatio is the share of new traces recorded, 0 to 1; a trace
	// that arrives with a traceparent keeps its caller's decision. Default 1.
	SampleRatio float64 `yaml:"sample_ratio" env:"SAMPLE_RATIO"`
	// PropagateToEndpoints sends traceparent on deliveries to endpoints.
	// Default false: receivers are third parties.
	PropagateToEndpoints bool `yaml:"propagate_to_endpoints" env:"PROPAGATE_TO_ENDPOINTS"`
}

// On reports whether tracing is on.
func (t *Telemetry) On() bool { return t.OTLPEndpoint != "" }

func (t *Telemetry) validate(bad func(string, string, ...any) error) error {
	if t.OTLPEndpoint != "" {
		u, err := url.Parse(t.OTLPEndpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return bad("telemetry.otlp_endpoint", "must be an http or https URL of an OTLP/HTTP receiver such as http://otel-collector:4318")
		}
	}
	if strings.TrimSpace(t.ServiceName) == "" {
		return bad("telemetry.service_name", "must not be empty (default hookgate)")
	}
	if !(t.SampleRatio >= 0 && t.SampleRatio <= 1) { // NaN fails too
		return bad("telemetry.sample_ratio", "must be between 0 and 1, not %v", t.SampleRatio)
	}
	if t.PropagateToEndpoints && t.OTLPEndpoint == "" {
		return bad("telemetry.propagate_to_endpoints", "needs telemetry.otlp_endpoint: with tracing off there is no trace to propagate")
	}
	return nil
}
