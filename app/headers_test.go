package app_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/deliver"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
)

// TestEndpointHeadersAreSentSealedAndHidden: an endpoint's custom headers
// reach its receiver (and only its receiver) beside valid signatures, on
// deliveries and test sends; the admin reads them back; Redis keeps them
// sealed; the delivery log shows that they were sent, not their values;
// reserved names and oversized sets are refused field by field.
func TestEndpointHeadersAreSentSealedAndHidden(t *testing.T) {
	h := start(t, nil)
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	withKey, plain := receiver.NewRecorder(), receiver.NewRecorder()
	s1, s2 := httptest.NewServer(withKey), httptest.NewServer(plain)
	defer s1.Close()
	defer s2.Close()

	const apiKey = "erp-key-5f1c9a77d2"
	w := h.createWebhook(admin, map[string]any{"name": "ERP", "events": []string{"contact.*"},
		"endpoints": []map[string]any{
			{"url": s1.URL, "headers": map[string]string{"x-api-key": apiKey, "Authorization": "Bearer tok-1"}},
			{"url": s2.URL}}})
	if got := w.Endpoints[0].Headers["x-api-key"]; got != apiKey {
		t.Fatalf("create answered endpoint headers %v", w.Endpoints[0].Headers)
	}

	h.do("POST", "/v1/events", pub, map[string]any{"type": "contact.created", "data": map[string]any{"id": 1}}).must(t, 202)
	got, err := withKey.WaitFor(testenv.Context(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	d := got[0]
	if d.Header.Get("X-Api-Key") != apiKey || d.Header.Get("Authorization") != "Bearer tok-1" {
		t.Fatalf("receiver got headers %v", d.Header)
	}
	verifyIndependently(t, w.Secret, d)
	other, err := plain.WaitFor(testenv.Context(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if other[0].Header.Get("X-Api-Key") != "" || other[0].Header.Get("Authorization") != "" {
		t.Fatalf("the other endpoint got the first one's headers: %v", other[0].Header)
	}

	// A test send to the saved endpoint carries them too.
	var tr struct{ Data []hookgate.TestResult }
	h.do("POST", "/v1/webhooks/"+w.ID+"/test", admin, map[string]any{"endpoint_id": w.Endpoints[0].ID}).must(t, 200).json(t, &tr)
	got, err = withKey.WaitFor(testenv.Context(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if got[1].Header.Get("X-Api-Key") != apiKey {
		t.Fatalf("test send carried headers %v", got[1].Header)
	}
	// So does a dialog's test of URLs not saved yet, by index.
	h.do("POST", "/v1/webhooks/test", admin, map[string]any{"urls": []string{s2.URL}, "headers": []map[string]string{{"X-Tenant": "north"}}}).must(t, 200)
	got, err = plain.WaitFor(testenv.Context(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if got[1].Header.Get("X-Tenant") != "north" {
		t.Fatalf("URL test carried headers %v", got[1].Header)
	}

	// Read back by the admin, sealed in Redis.
	var back struct {
		Endpoints []struct{ Headers map[string]string }
	}
	h.do("GET", "/v1/webhooks/"+w.ID, admin, nil).must(t, 200).json(t, &back)
	if back.Endpoints[0].Headers["x-api-key"] != apiKey {
		t.Fatalf("GET shows headers %v", back.Endpoints[0].Headers)
	}
	raw, err := h.rdb.Get(context.Background(), h.cfg.Redis.Prefix+":t:{acme}:wh:"+w.ID).Result()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw, apiKey) || strings.Contains(raw, "tok-1") || !strings.Contains(raw, `"x-api-key":"v1.`) {
		t.Fatalf("stored record does not seal the header values: %s", raw)
	}

	// The log says they were sent, without the values.
	var dv deliveryView
	list := h.deliveries(admin, w.ID, "?endpoint="+w.Endpoints[0].ID+"&status=succeeded")
	if len(list) == 0 {
		t.Fatal("no delivery logged")
	}
	h.do("GET", "/v1/deliveries/"+list[len(list)-1].ID, admin, nil).must(t, 200).json(t, &dv)
	rh := dv.AttemptLog[0].RequestHeaders
	if rh["X-Api-Key"] != deliver.HiddenHeaderValue || rh["Authorization"] != deliver.HiddenHeaderValue {
		t.Fatalf("logged request headers %v", rh)
	}

	// Reserved names, bad values and too many headers are refused by field.
	many := map[string]string{}
	for i := range 21 {
		many["X-H"+strings.Repeat("a", i)] = "v"
	}
	for _, c := range []struct {
		headers    map[string]string
		field, msg string
	}{
		{map[string]string{"webhook-signature": "v1,forged"}, "endpoints[0].headers.webhook-signature", "signature"},
		{map[string]string{"X-Webhook-Event": "x"}, "endpoints[0].headers.X-Webhook-Event", "signature"},
		{map[string]string{"Content-Type": "text/plain"}, "endpoints[0].headers.Content-Type", "body"},
		{map[string]string{"connection": "close"}, "endpoints[0].headers.connection", "hop-by-hop"},
		{map[string]string{"Host": "internal"}, "endpoints[0].headers.Host", "hop-by-hop"},
		{map[string]string{"X-Ok": "a\r\nX-Injected: 1"}, "endpoints[0].headers.X-Ok", "line breaks"},
		{map[string]string{"Bad Name": "x"}, "endpoints[0].headers", "not a valid HTTP header name"},
		{map[string]string{"X-Big": strings.Repeat("v", 3000)}, "endpoints[0].headers.X-Big", "at most 2048 bytes"},
		{many, "endpoints[0].headers", "at most 20 headers"},
	} {
		r := h.do("PATCH", "/v1/webhooks/"+w.ID, admin, map[string]any{"endpoints": []map[string]any{{"url": s1.URL, "headers": c.headers}}}).must(t, 400)
		var e struct {
			Error struct {
				Code   string
				Fields map[string]string
			}
		}
		r.json(t, &e)
		if e.Error.Code != "validation_failed" || !strings.Contains(e.Error.Fields[c.field], c.msg) {
			t.Errorf("header %.60v: answered %.300s, want field %s saying %q", c.headers, r.Body, c.field, c.msg)
		}
	}
	// Nothing of the refused updates was kept.
	h.do("GET", "/v1/webhooks/"+w.ID, admin, nil).must(t, 200).json(t, &back)
	if back.Endpoints[0].Headers["x-api-key"] != apiKey {
		t.Fatalf("after refused updates the headers are %v", back.Endpoints[0].Headers)
	}
}
