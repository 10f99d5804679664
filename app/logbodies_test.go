package app_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
)

// The delivery log keeps each sent body up to delivery.max_request_body and
// each answer up to delivery.max_response_body: two limits, each cutting
// only its own body. The receiver gets the whole request.
func TestDeliveryLogCutsTheSentBodyAtMaxRequestBody(t *testing.T) {
	const maxRequest, maxResponse = 300, 40
	h := start(t, func(c *config.Config) {
		c.Delivery.MaxRequestBody, c.Delivery.MaxResponseBody = maxRequest, maxResponse
	})
	answer := strings.Repeat("r", 500)
	rec := receiver.NewRecorder()
	rec.SetHandler(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(answer)) })
	srv := httptest.NewServer(rec)
	defer srv.Close()
	admin := h.token("acme", "admin")
	w := h.createWebhook(admin, map[string]any{"name": "long", "endpoints": endpoints(srv.URL), "events": []string{"contact.created"}})
	note := strings.Repeat("n", 2000)
	h.do("POST", "/v1/events", h.token("acme", "publisher"), map[string]any{"type": "contact.created", "data": map[string]any{"note": note}}).must(t, 202)
	got, err := rec.WaitFor(testenv.Context(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	sent := string(got[0].Body)
	if !strings.Contains(sent, note) {
		t.Fatalf("the receiver did not get the whole body (%d bytes)", len(sent))
	}
	var d deliveryView
	testenv.Eventually(t, 5*time.Second, "the delivery logged as succeeded", func() bool {
		ds := h.deliveries(admin, w.ID, "")
		if len(ds) != 1 || ds[0].Status != hookgate.DeliverySucceeded {
			return false
		}
		h.do("GET", "/v1/deliveries/"+ds[0].ID, admin, nil).must(t, 200).json(t, &d)
		return len(d.AttemptLog) == 1
	})
	att := d.AttemptLog[0]
	if att.RequestBody != sent[:maxRequest] {
		t.Fatalf("request_body is %d bytes, want the first %d of the %d sent (delivery.max_request_body)",
			len(att.RequestBody), maxRequest, len(sent))
	}
	if att.ResponseBody != answer[:maxResponse] {
		t.Fatalf("response_body is %d bytes, want the first %d of the answer (delivery.max_response_body)", len(att.ResponseBody), maxResponse)
	}
}
