package gateway_test

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

func TestAPanickingHandlerIsA500WithTheErrorShape(t *testing.T) {
	g := wiredGateway(t)
	g.App().Get("/panics", func(*fiber.Ctx) error { panic("secret internal detail") })
	resp, err := g.App().Test(httptest.NewRequest("GET", "/panics", nil))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	var e struct {
		Error struct{ Code, Message, RequestID string } `json:"error"`
	}
	if resp.StatusCode != 500 || json.Unmarshal(body, &e) != nil || e.Error.Code != "internal" {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "secret internal detail") {
		t.Fatalf("the panic leaks to the client: %s", body)
	}
	// The gateway still serves.
	resp, err = g.App().Test(httptest.NewRequest("GET", "/healthz", nil))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after a panic: %v %v", resp, err)
	}
}
