package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/testenv"
)

// With Redis down, redeeming a console login link is 503 like every other
// route, whatever the code looks like: "unknown, expired or already used"
// is only said once Redis has said so, and would send the user after a new
// link that cannot be issued either.
func TestConsoleLoginWithRedisDownIsUnavailable(t *testing.T) {
	rs := testenv.StartRedisServer(t, "")
	h := start(t, func(c *config.Config) { c.Redis.Addr = rs.Addr })
	codes := []string{strings.Repeat("A", 43), "abc", strings.Repeat("A", 44) + "\n"}
	for _, code := range codes {
		h.do("POST", "/v1/console/login", "", map[string]any{"code": code}).apiErr(t, http.StatusUnauthorized, hookgate.EUNAUTHORIZED)
	}
	rs.Kill()
	for _, code := range codes {
		h.do("POST", "/v1/console/login", "", map[string]any{"code": code}).apiErr(t, http.StatusServiceUnavailable, hookgate.EUNAVAILABLE)
	}
	// Input that is wrong whatever Redis says is still a 400.
	h.do("POST", "/v1/console/login", "", map[string]any{"code": ""}).apiErr(t, http.StatusBadRequest, hookgate.EINVALID)
}
