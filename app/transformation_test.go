package app_test

import (
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
)

const slackish = `function handler(input) {
  if (input.event.data.name === "skip me") return null;
  return {
    body: {text: "New " + input.event.type + ": " + input.event.data.name, original_id: input.body.id},
    headers: {"X-Team": "sales"}
  };
}`

func TestTransformedBodyIsDeliveredSignedAndSkipsAreLogged(t *testing.T) {
	h := start(t, nil)
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	rec := receiver.NewRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()
	w := h.createWebhook(admin, map[string]any{"name": "slack-ish", "endpoints": endpoints(srv.URL), "events": []string{"contact.created"},
		"transformation": slackish})
	if w.TransformationVersion != 1 || w.Transformation != slackish {
		t.Fatalf("created with version %d and source %q", w.TransformationVersion, w.Transformation)
	}
	var ev struct{ ID string }
	h.do("POST", "/v1/events", pub, map[string]any{"type": "contact.created", "data": map[string]any{"name": "Ada"}}).must(t, 202).json(t, &ev)
	got, err := rec.WaitFor(testenv.Context(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	d := got[0]
	var body map[string]any
	if err := json.Unmarshal(d.Body, &body); err != nil {
		t.Fatalf("body %s: %v", d.Body, err)
	}
	if body["text"] != "New contact.created: Ada" || body["original_id"] != ev.ID || len(body) != 2 {
		t.Fatalf("body %s", d.Body)
	}
	if d.Header.Get("X-Team") != "sales" || !strings.HasPrefix(d.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("headers %v", d.Header)
	}
	// The signature covers the transformed body.
	verifyIndependently(t, w.Secret, d)

	h.do("POST", "/v1/events", pub, map[string]any{"type": "contact.created", "data": map[string]any{"name": "skip me"}}).must(t, 202)
	var skipped []hookgate.Delivery
	testenv.Eventually(t, 10*time.Second, "the skipped delivery in the log", func() bool {
		skipped = nil
		for _, x := range h.deliveries(admin, w.ID, "") {
			if x.ErrorClass == hookgate.ClassSkipped {
				skipped = append(skipped, x)
			}
		}
		return len(skipped) == 1
	})
	if !strings.Contains(skipped[0].Error, "transformation") {
		t.Fatalf("skip reason %q", skipped[0].Error)
	}
	if n := len(rec.Deliveries()); n != 1 {
		t.Fatalf("receiver got %d deliveries, want the first only", n)
	}
}

func TestFailingTransformationIsLoggedAndNotHeldAgainstTheReceiver(t *testing.T) {
	h := start(t, func(c *config.Config) {
		c.Lifecycle.AutoPauseAfter = 2
		c.Transformations.Timeout = hookgate.Duration(50 * time.Millisecond)
	})
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	rec := receiver.NewRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()
	w := h.createWebhook(admin, map[string]any{"name": "broken", "endpoints": endpoints(srv.URL), "events": []string{"contact.created"},
		"retry":          map[string]any{"delays": []string{"10ms"}},
		"transformation": "function handler(input) {\n  return {body: input.event.data.missing.field};\n}"})
	for range 3 {
		h.do("POST", "/v1/events", pub, map[string]any{"type": "contact.created", "data": map[string]any{"name": "Ada"}}).must(t, 202)
	}
	var failed []hookgate.Delivery
	testenv.Eventually(t, 10*time.Second, "three failed deliveries", func() bool {
		failed = h.deliveries(admin, w.ID, "?status=failed")
		return len(failed) == 3
	})
	for _, d := range failed {
		if d.ErrorClass != hookgate.ClassTransformationError || !strings.Contains(d.Error, "TypeError") || !strings.Contains(d.Error, "line 2:") {
			t.Fatalf("delivery %s: class %q error %q", d.ID, d.ErrorClass, d.Error)
		}
	}
	// Six failed attempts, none the receiver's: the webhook stays active.
	var now hookgate.Webhook
	h.do("GET", "/v1/webhooks/"+w.ID, admin, nil).must(t, 200).json(t, &now)
	if now.Status != hookgate.StatusActive || now.ConsecutiveFailures != 0 {
		t.Fatalf("status %s, consecutive failures %d", now.Status, now.ConsecutiveFailures)
	}
	if n := len(rec.Deliveries()); n != 0 {
		t.Fatalf("receiver got %d deliveries", n)
	}

	// An infinite loop is interrupted and says so.
	h.do("PATCH", "/v1/webhooks/"+w.ID, admin, map[string]any{"transformation": "function handler(input) { while (true) {} }"}).must(t, 200).json(t, &now)
	if now.TransformationVersion != 2 {
		t.Fatalf("version %d after a change, want 2", now.TransformationVersion)
	}
	h.do("POST", "/v1/events", pub, map[string]any{"type": "contact.created", "data": map[string]any{"name": "Loop"}}).must(t, 202)
	testenv.Eventually(t, 10*time.Second, "the interrupted delivery", func() bool {
		for _, d := range h.deliveries(admin, w.ID, "?status=failed") {
			if strings.Contains(d.Error, "ran longer than transformations.timeout") {
				return true
			}
		}
		return false
	})
}

func TestTransformationIsValidatedOnCreateAndUpdate(t *testing.T) {
	h := start(t, func(c *config.Config) { c.Transformations.MaxSource = 300 })
	admin := h.token("acme", "admin")
	base := func(src string) map[string]any {
		return map[string]any{"name": "x", "endpoints": endpoints("https://example.com/hook"), "events": []string{"contact.created"}, "transformation": src}
	}
	for _, tc := range []struct{ name, src, want string }{
		{"syntax", "function handler(input) { return {body: }", "syntax error"},
		{"no handler", "function other(input) { return null; }", "function handler(input)"},
		{"too large", "function handler(input) { return null; }" + strings.Repeat(" ", 400), "at most 300 bytes"},
	} {
		r := h.do("POST", "/v1/webhooks", admin, base(tc.src)).must(t, 400)
		var e struct {
			Error struct {
				Code   string            `json:"code"`
				Fields map[string]string `json:"fields"`
			} `json:"error"`
		}
		r.json(t, &e)
		if e.Error.Code != "validation_failed" || !strings.Contains(e.Error.Fields["transformation"], tc.want) {
			t.Errorf("%s: %s", tc.name, r.Body)
		}
	}
	w := h.createWebhook(admin, base("function handler(input) { return {body: input.body}; }"))
	h.do("PATCH", "/v1/webhooks/"+w.ID, admin, map[string]any{"transformation": "function handler( {"}).must(t, 400)
	var now hookgate.Webhook
	h.do("GET", "/v1/webhooks/"+w.ID, admin, nil).must(t, 200).json(t, &now)
	if now.TransformationVersion != 1 {
		t.Fatalf("a refused update changed the version to %d", now.TransformationVersion)
	}
	// The same source again is no change; removing it is one.
	h.do("PATCH", "/v1/webhooks/"+w.ID, admin, map[string]any{"transformation": now.Transformation}).must(t, 200).json(t, &now)
	if now.TransformationVersion != 1 {
		t.Fatalf("the same source bumped the version to %d", now.TransformationVersion)
	}
	var removed hookgate.Webhook
	h.do("PATCH", "/v1/webhooks/"+w.ID, admin, map[string]any{"transformation": ""}).must(t, 200).json(t, &removed)
	if removed.Transformation != "" || removed.TransformationVersion != 2 {
		t.Fatalf("after removal: %q version %d", removed.Transformation, removed.TransformationVersion)
	}
}

func TestTransformationPreviewShowsResultsAndErrors(t *testing.T) {
	h := start(t, func(c *config.Config) { c.Transformations.Timeout = hookgate.Duration(50 * time.Millisecond) })
	admin := h.token("acme", "admin")
	type result struct {
		OK    bool
		Event hookgate.Event
		Input *struct {
			Body        string
			ContentType string `json:"content_type"`
		}
		Output *struct {
			Body    string
			Headers map[string]string
		}
		Skip       bool
		SkipReason string `json:"skip_reason"`
		Error      string
	}
	preview := func(body map[string]any, status int) (result, response) {
		t.Helper()
		var r result
		resp := h.do("POST", "/v1/webhooks/transformation/preview", admin, body).must(t, status)
		if status == 200 {
			resp.json(t, &r)
		}
		return r, resp
	}

	r, _ := preview(map[string]any{"event_type": "contact.created", "transformation": slackish}, 200)
	if !r.OK || r.Output == nil || r.Input == nil || r.Event.Type != "contact.created" {
		t.Fatalf("%+v", r)
	}
	var in, out map[string]any
	if err := json.Unmarshal([]byte(r.Input.Body), &in); err != nil || in["event"] != "contact.created" {
		t.Fatalf("input %s: %v", r.Input.Body, err)
	}
	// The event is the catalogue's example for the type.
	cat, err := hookgate.LoadCatalogue(nil)
	if err != nil {
		t.Fatal(err)
	}
	if ct, ok := cat.Lookup("contact.created"); ok && len(ct.Example) > 0 {
		var want, got any
		_ = json.Unmarshal(ct.Example, &want)
		_ = json.Unmarshal(r.Event.Data, &got)
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("event data %s, want the catalogue's example %s", r.Event.Data, ct.Example)
		}
	} else {
		t.Fatal("the catalogue has no example for contact.created")
	}
	if err := json.Unmarshal([]byte(r.Output.Body), &out); err != nil || !strings.HasPrefix(out["text"].(string), "New contact.created: ") || out["original_id"] != r.Event.ID {
		t.Fatalf("output %s: %v", r.Output.Body, err)
	}
	if r.Output.Headers["X-Team"] != "sales" {
		t.Fatalf("headers %v", r.Output.Headers)
	}

	r, _ = preview(map[string]any{"event_type": "contact.created", "data": map[string]any{"name": "skip me"}, "transformation": slackish}, 200)
	if !r.OK || !r.Skip || r.Output != nil {
		t.Fatalf("skip: %+v", r)
	}
	r, _ = preview(map[string]any{"transformation": "function handler(input) {\n  throw new Error('boom');\n}"}, 200)
	if r.OK || !strings.Contains(r.Error, "Error: boom (line 2:") {
		t.Fatalf("throw: %+v", r)
	}
	r, _ = preview(map[string]any{"transformation": "function handler(input) { for(;;){} }"}, 200)
	if r.OK || !strings.Contains(r.Error, "ran longer than transformations.timeout") {
		t.Fatalf("loop: %+v", r)
	}
	r, _ = preview(map[string]any{"transformation": `function handler(input) { return {body: "", headers: {"X-Webhook-Signature": "x"}}; }`}, 200)
	if r.OK || !strings.Contains(r.Error, "set by hookgate") {
		t.Fatalf("reserved header: %+v", r)
	}
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"transformation": "function handler(input) {"}, "transformation"},
		{map[string]any{"transformation": slackish, "event_type": "nope.nothing"}, "event_type"},
		{map[string]any{"transformation": slackish, "format": "no-such-format"}, "format"},
		{map[string]any{}, "transformation"},
	} {
		_, resp := preview(tc.body, 400)
		var e struct {
			Error struct {
				Code   string
				Fields map[string]string
			}
		}
		resp.json(t, &e)
		if e.Error.Code != "validation_failed" || e.Error.Fields[tc.field] == "" {
			t.Errorf("%v: %s", tc.body, resp.Body)
		}
	}
	h.do("POST", "/v1/webhooks/transformation/preview", h.token("acme", "publisher"), map[string]any{"transformation": slackish}).must(t, 403)
}
