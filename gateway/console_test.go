package gateway_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/gateway"
)

// TestConsoleAssetsAreServedWithTheirHeaders checks how /console/ is
// served: each embedded file with its type and the security headers, the
// bare /console redirected, and anything else a JSON 404.
func TestConsoleAssetsAreServedWithTheirHeaders(t *testing.T) {
	app := gateway.New(gateway.Deps{Config: config.Default()}).App()
	tests := []struct {
		path, status, contentType, location, body string
	}{
		{"/console/", "200", "text/html; charset=utf-8", "", `<script type="module" src="app.js">`},
		{"/console/app.js", "200", "text/javascript; charset=utf-8", "", "takeLoginLink"},
		{"/console/style.css", "200", "text/css; charset=utf-8", "", ":root"},
		{"/console", "301", "", "/console/", ""},
		{"/console/missing.js", "404", "application/json", "", `"code":"not_found"`},
		{"/console/../../etc/passwd", "404", "application/json", "", `"code":"not_found"`},
		{"/console/%2e%2e/go.mod", "404", "application/json", "", `"code":"not_found"`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := app.Test(httptest.NewRequest("GET", tt.path, nil))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if got := resp.Status[:3]; got != tt.status {
				t.Fatalf("status %s, want %s: %s", resp.Status, tt.status, body)
			}
			if tt.location != "" && resp.Header.Get("Location") != tt.location {
				t.Fatalf("Location %q", resp.Header.Get("Location"))
			}
			if tt.contentType != "" && !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.contentType) {
				t.Fatalf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tt.contentType)
			}
			if !strings.Contains(string(body), tt.body) {
				t.Fatalf("body lacks %q: %.200s", tt.body, body)
			}
			if tt.status == "200" {
				for _, h := range []string{"Content-Security-Policy", "Referrer-Policy", "X-Content-Type-Options", "X-Frame-Options"} {
					if resp.Header.Get(h) == "" {
						t.Errorf("no %s header", h)
					}
				}
				if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") {
					t.Errorf("CSP %q", csp)
				}
			}
		})
	}
}
