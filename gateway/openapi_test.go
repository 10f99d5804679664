package gateway_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/hookgate/hookgate/app"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/gateway"
)

// wiredGateway builds hookgate exactly as `hookgate serve` does (nothing is
// started, so no Redis is needed) and returns its gateway, whose route table
// then holds every route a running hookgate serves.
func wiredGateway(t *testing.T) *gateway.Server {
	t.Helper()
	cfg := config.Default()
	cfg.Auth.HS256Secret = config.DevHS256Secret
	cfg.Store.EncryptionKey = config.DevEncryptionKey
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := app.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Redis.Close() })
	return a.Gateway
}

var pathParam = regexp.MustCompile(`\{([A-Za-z_]+)\}`)

type openapiDoc struct {
	OpenAPI string                    `yaml:"openapi"`
	Paths   map[string]map[string]any `yaml:"paths"`
}

// publicRoutes lists the operations documented as public (security: []).
func publicRoutes(t *testing.T, raw []byte) []string {
	t.Helper()
	var doc openapiDoc
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for path, item := range doc.Paths {
		for method, op := range item {
			o, ok := op.(map[string]any)
			if !ok {
				continue
			}
			if sec, ok := o["security"].([]any); ok && len(sec) == 0 {
				out = append(out, strings.ToUpper(method)+" "+pathParam.ReplaceAllString(path, ":$1"))
			}
		}
	}
	return out
}

// documentedRoutes lists "METHOD /path" for every operation of
// openapi.yaml, with {param} written as Fiber's :param.
func documentedRoutes(t *testing.T, raw []byte) []string {
	t.Helper()
	var doc openapiDoc
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	var out []string
	for path, item := range doc.Paths {
		for method, op := range item {
			switch method {
			case "get", "post", "put", "patch", "delete", "head", "options":
			default:
				continue // parameters, summary, ...
			}
			r := strings.ToUpper(method) + " " + pathParam.ReplaceAllString(path, ":$1")
			o, _ := op.(map[string]any)
			if summary, _ := o["summary"].(string); summary == "" || o["responses"] == nil {
				t.Errorf("%s is documented without a summary or responses", r)
			}
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

func TestEveryRouteIsInTheOpenAPIDocumentAndViceVersa(t *testing.T) {
	g := wiredGateway(t)
	var registered []string
	for _, r := range g.Routes() {
		// The incoming proxy serves every method under /in/; the document
		// spells it as one path with each method.
		if r == "ANY /in/*" {
			for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"} {
				registered = append(registered, m+" /in/:token/:path")
			}
			continue
		}
		if r == "GET /console/*" { // the console's files, documented as the console
			r = "GET /console/"
		}
		registered = append(registered, r)
	}
	sort.Strings(registered)
	if len(registered) < 10 {
		t.Fatalf("the wiring registered only %v; the check would prove little", registered)
	}
	raw, err := gateway.OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	// The served JSON is the document checked here.
	resp, err := g.App().Test(httptest.NewRequest("GET", "/v1/openapi.json", nil))
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !json.Valid(served) || string(served) != string(raw) {
		t.Fatalf("GET /v1/openapi.json: %d %.200s", resp.StatusCode, served)
	}
	documented := documentedRoutes(t, raw) // JSON is YAML
	for _, r := range registered {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is served but not documented in gateway/openapi.yaml", r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(registered, r) {
			t.Errorf("route %s is documented in gateway/openapi.yaml but not served", r)
		}
	}
}

// TestEveryV1RouteNeedsAToken calls every /v1 route of the wired route
// table without a token: each must answer 401 with the error shape before
// its handler runs (nothing here needs Redis), except the few documented
// as public (security: []): the OpenAPI document itself and the routes whose
// credential is in the request (a confirmation link, a login code).
func TestEveryV1RouteNeedsAToken(t *testing.T) {
	g := wiredGateway(t)
	raw, err := gateway.OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	public := publicRoutes(t, raw)
	publicV1 := slices.DeleteFunc(slices.Clone(public), func(r string) bool { return !strings.Contains(r, " /v1/") })
	if len(publicV1) > 3 {
		t.Fatalf("%d /v1 routes documented as public: %v; a public /v1 route needs a reason", len(publicV1), publicV1)
	}
	checked := 0
	for _, r := range g.Routes() {
		method, path, _ := strings.Cut(r, " ")
		if !strings.HasPrefix(path, "/v1/") || slices.Contains(public, r) {
			continue
		}
		target := regexp.MustCompile(`:[A-Za-z_]+`).ReplaceAllString(path, "x1")
		for _, auth := range []string{"", "Bearer ", "Basic YTpi", "Bearer not-a-jwt"} {
			req := httptest.NewRequest(method, target, strings.NewReader(`{}`))
			req.Header.Set("Content-Type", "application/json")
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := g.App().Test(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if resp.StatusCode != 401 || json.Unmarshal(body, &e) != nil || e.Error.Code != "unauthorized" || e.Error.Message == "" {
				t.Errorf("%s with Authorization %q: %d %s", r, auth, resp.StatusCode, body)
			}
		}
		checked++
	}
	if checked < 10 {
		t.Fatalf("only %d /v1 routes checked", checked)
	}
}
