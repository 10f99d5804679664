package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
)

// What a recorded delivery error must never show a tenant admin: an IPv4
// address (a resolved internal host, the resolver), an IPv6 address (two
// colons with no space between them), a port (a colon then digits).
var (
	leakIPv4 = regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}\b`)
	leakIPv6 = regexp.MustCompile(`(?i)[0-9a-f]*:[0-9a-f]*:[0-9a-f.]*`)
	leakPort = regexp.MustCompile(`:\d+`)
)

func assertSafeError(t *testing.T, where, class, msg string) {
	t.Helper()
	if msg == "" {
		t.Fatalf("%s: no error recorded", where)
	}
	for _, re := range []*regexp.Regexp{leakIPv4, leakIPv6, leakPort} {
		if m := re.FindString(msg); m != "" {
			t.Errorf("%s: recorded error %q shows %q", where, msg, m)
		}
	}
	if !strings.HasPrefix(msg, class+": ") {
		t.Errorf("%s: recorded error %q does not start with its class %q", where, msg, class)
	}
}

// logRecords returns the JSON log records whose delivery_id is id.
func logRecords(t *testing.T, logs, id string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r map[string]any
		if json.Unmarshal(sc.Bytes(), &r) == nil && r["delivery_id"] == id {
			out = append(out, r)
		}
	}
	return out
}

// TestRecordedDeliveryErrorsRevealNoAddresses delivers, through the real app,
// Redis and a worker, to a loopback address (refused by the SSRF guard), to a
// name that does not resolve and to a closed port. The delivery log and the
// test-send answers carry the error class and a safe message, never an IP
// address, a port or the resolver's address; the server log carries the
// detail, with the delivery id and without the URL's query.
func TestRecordedDeliveryErrorsRevealNoAddresses(t *testing.T) {
	h := start(t, func(c *config.Config) {
		c.Delivery.AllowedCIDRs = []string{"127.0.0.2/32"} // 127.0.0.1 stays refused
		c.Delivery.RetryDelays = nil                       // fail at the first attempt
	})
	live := httptest.NewServer(receiver.NewRecorder())
	defer live.Close()
	livePort := live.URL[strings.LastIndex(live.URL, ":")+1:]
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2 on this machine: %v", err)
	}
	closed := ln.Addr().String()
	ln.Close()
	invalid := testenv.Prefix("hg-nxdomain-") + ".invalid"

	cases := []struct {
		name, url, class string
		detail           []string // in the server log's record of the attempt
	}{
		{"loopback", "http://127.0.0.1:" + livePort + "/hook?token=sekret", hookgate.ClassSSRFBlocked, []string{"127.0.0.1", "loopback"}},
		{"localhost", "http://localhost:" + livePort + "/hook?token=sekret", hookgate.ClassSSRFBlocked, []string{"loopback"}},
		{"nxdomain", "http://" + invalid + "/hook?token=sekret", hookgate.ClassDNS, []string{invalid}},
		{"closed port", "http://" + closed + "/hook?token=sekret", hookgate.ClassConnect, []string{closed, "refused"}},
	}
	admin := h.token("acme", "admin")
	ids := make([]string, len(cases))
	for i, c := range cases {
		ids[i] = h.createWebhook(admin, map[string]any{"name": c.name, "endpoints": endpoints(c.url), "events": []string{"deal.won"}}).ID
	}
	h.do("POST", "/v1/events", h.token("acme", "publisher"), map[string]any{"type": "deal.won", "data": map[string]any{}}).must(t, 202)

	checkLog := func(where, id string, detail []string) {
		t.Helper()
		var recs []map[string]any
		testenv.Eventually(t, 5*time.Second, where+": the attempt in the server log", func() bool {
			recs = logRecords(t, h.logs.String(), id)
			return len(recs) > 0
		})
		line, _ := json.Marshal(recs)
		t.Logf("%s: server log %s", where, line)
		for _, d := range detail {
			if !strings.Contains(string(line), d) {
				t.Errorf("%s: server log %s lacks %q", where, line, d)
			}
		}
		if strings.Contains(string(line), "sekret") {
			t.Errorf("%s: server log shows the URL's query: %s", where, line)
		}
	}

	for i, c := range cases {
		var d hookgate.Delivery
		testenv.Eventually(t, 10*time.Second, c.name+": a failed delivery", func() bool {
			ds := h.deliveries(admin, ids[i], "?status=failed")
			if len(ds) == 1 {
				d = ds[0]
			}
			return len(ds) == 1
		})
		if d.ErrorClass != c.class {
			t.Errorf("%s: class %q, want %q (error %q)", c.name, d.ErrorClass, c.class, d.Error)
		}
		t.Logf("%s: recorded %q", c.name, d.Error)
		assertSafeError(t, c.name+" list", c.class, d.Error)
		var one deliveryView
		h.do("GET", "/v1/deliveries/"+d.ID, admin, nil).must(t, 200).json(t, &one)
		assertSafeError(t, c.name+" delivery", c.class, one.Error)
		if len(one.AttemptLog) != 1 {
			t.Fatalf("%s: %d attempts", c.name, len(one.AttemptLog))
		}
		assertSafeError(t, c.name+" attempt", c.class, one.AttemptLog[0].Error)
		checkLog(c.name, d.ID, c.detail)
	}

	// Test sends: unsaved URLs (the dialog) and a saved webhook (logged).
	urls := make([]string, len(cases))
	for i, c := range cases {
		urls[i] = c.url
	}
	var res struct {
		Data []struct {
			OK         bool   `json:"ok"`
			Message    string `json:"message"`
			Error      string `json:"error"`
			DeliveryID string `json:"delivery_id"`
		}
	}
	h.do("POST", "/v1/webhooks/test", admin, map[string]any{"urls": urls}).must(t, 200).json(t, &res)
	if len(res.Data) != len(cases) {
		t.Fatalf("%d test results for %d URLs", len(res.Data), len(cases))
	}
	for i, c := range cases {
		r := res.Data[i]
		if r.OK || r.Message != "Failed: "+c.class {
			t.Errorf("%s: test send ok=%v message %q", c.name, r.OK, r.Message)
		}
		assertSafeError(t, c.name+" test send", c.class, r.Error)
	}
	h.do("POST", "/v1/webhooks/"+ids[3]+"/test", admin, nil).must(t, 200).json(t, &res)
	if len(res.Data) != 1 || res.Data[0].DeliveryID == "" {
		t.Fatalf("saved webhook's test send: %+v", res.Data)
	}
	assertSafeError(t, "saved test send", hookgate.ClassConnect, res.Data[0].Error)
	var logged deliveryView
	h.do("GET", "/v1/deliveries/"+res.Data[0].DeliveryID, admin, nil).must(t, 200).json(t, &logged)
	assertSafeError(t, "saved test send's log", hookgate.ClassConnect, logged.Error)
	checkLog("saved test send", res.Data[0].DeliveryID, []string{closed, "refused"})
}

// TestErrorsRecordedBeforeSafeMessagesAreShownByClass reads back an attempt
// recorded the way hookgate used to record transport errors (Go's own text,
// with the address, port and URL): the API shows its class only.
func TestErrorsRecordedBeforeSafeMessagesAreShownByClass(t *testing.T) {
	h := start(t, nil)
	admin := h.token("acme", "admin")
	w := h.createWebhook(admin, map[string]any{"name": "old", "endpoints": endpoints("https://old.example/hook"), "events": []string{"deal.won"}})
	old := `Post "https://old.example/hook?token=sekret": dial tcp 10.20.30.40:5432: ssrf_blocked: 10.20.30.40 is private`
	now := time.Now().UTC()
	rec := hookgate.LogRecord{
		Delivery: &hookgate.DeliveryRecord{Namespace: "acme", Delivery: hookgate.Delivery{
			ID: "dl_legacy", Tenant: "acme", WebhookID: w.ID, EndpointID: w.Endpoints[0].ID, URL: w.Endpoints[0].URL,
			EventID: "evt_legacy", EventType: "deal.won", Status: hookgate.DeliveryFailed, Attempts: 1,
			ErrorClass: hookgate.ClassSSRFBlocked, Error: old, CreatedAt: now, UpdatedAt: now,
		}},
		Attempt: &hookgate.Attempt{N: 1, At: now, ErrorClass: hookgate.ClassSSRFBlocked, Error: old},
	}
	if _, err := h.app.Log.Write(context.Background(), []hookgate.LogRecord{rec}); err != nil {
		t.Fatal(err)
	}
	ds := h.deliveries(admin, w.ID, "")
	if len(ds) != 1 {
		t.Fatalf("%d deliveries", len(ds))
	}
	assertSafeError(t, "list", hookgate.ClassSSRFBlocked, ds[0].Error)
	var one deliveryView
	h.do("GET", "/v1/deliveries/dl_legacy", admin, nil).must(t, 200).json(t, &one)
	assertSafeError(t, "delivery", hookgate.ClassSSRFBlocked, one.Error)
	if len(one.AttemptLog) != 1 {
		t.Fatalf("%d attempts", len(one.AttemptLog))
	}
	assertSafeError(t, "attempt", hookgate.ClassSSRFBlocked, one.AttemptLog[0].Error)
}
