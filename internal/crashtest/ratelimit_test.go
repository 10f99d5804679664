package crashtest

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
)

// metricsText is h's /metrics page.
func (h *hookgateProc) metricsText() string {
	h.t.Helper()
	resp, err := http.Get(h.base + "/metrics")
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return string(b)
}

// metric adds up the samples of a counter on h's /metrics.
func (h *hookgateProc) metric(name string) float64 {
	h.t.Helper()
	resp, err := http.Get(h.base + "/metrics")
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		f, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err == nil {
			sum += f
		}
	}
	return sum
}

// TestRateLimitHoldsAcrossWorkerProcesses runs the real binary as one API
// process and two worker processes on one Redis, and sends a burst of 60
// events to an endpoint limited to 10 deliveries a second: in no second
// does the receiver get more than the limit (plus two, for the timing of
// requests over loopback), the burst as a whole arrives within 10 % of the
// limit, both workers deliver, and every delivery succeeds at its first
// attempt (waiting for the limit is not an attempt).
func TestRateLimitHoldsAcrossWorkerProcesses(t *testing.T) {
	api := startHookgate(t, testenv.RedisAddr(), "HOOKGATE_SERVER_ROLE=api")
	workers := []*hookgateProc{
		startShared(t, api, "HOOKGATE_SERVER_ROLE=worker"),
		startShared(t, api, "HOOKGATE_SERVER_ROLE=worker"),
	}
	admin, pub := api.token("acme", "admin"), api.token("acme", "publisher")
	rec := receiver.NewRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()

	const n, limit = 60, 10
	var w hookgate.Webhook
	api.call("POST", "/v1/webhooks", admin, map[string]any{"name": "ERP", "events": []string{"deal.*"},
		"endpoints": []map[string]any{{"url": srv.URL, "rate_limit": limit}}}, &w, 201)
	evs := make([]map[string]any, n)
	for i := range evs {
		evs[i] = map[string]any{"id": fmt.Sprint("ev-", i), "type": "deal.won", "data": map[string]any{"n": i}}
	}
	api.call("POST", "/v1/events/batch", pub, map[string]any{"events": evs}, nil, 202)
	got := waitFor(t, rec, n, 30*time.Second)

	at := make([]time.Time, len(got))
	for i, d := range got {
		at[i] = d.Received
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	// Arrival times, not send times: a loaded machine that delays a few
	// sends bunches them at the receiver, so a window allows half the rate
	// again; the exact schedule is internal/store's test, and a limit not
	// shared (twice the rate) fails the average below.
	most := testenv.MostInWindow(at, time.Second)
	if most > limit+limit/2 {
		t.Fatalf("%d deliveries arrived within one second; the limit is %d", most, limit)
	}
	if m := testenv.MostInWindow(at, 3*time.Second); m > 3*limit+limit/2 {
		t.Fatalf("%d deliveries arrived within three seconds; the limit is %d a second", m, limit)
	}
	span := at[n-1].Sub(at[0])
	if rate := float64(n-1) / span.Seconds(); rate > limit*1.1 {
		t.Fatalf("%d deliveries in %s: %.2f/s, more than 10%% over the limit of %d", n, span, rate, limit)
	}
	t.Logf("%d deliveries over %s: %.2f/s for a limit of %d; at most %d in one second", n, span, float64(n-1)/span.Seconds(), limit, most)
	for i, p := range workers {
		if p.metric("hookgate_delivery_attempts_total") == 0 {
			t.Fatalf("worker %d sent nothing: the limit was not shared between processes", i+1)
		}
	}

	testenv.Eventually(t, 10*time.Second, "every delivery in the log", func() bool {
		var page struct{ Data []hookgate.Delivery }
		api.call("GET", "/v1/webhooks/"+w.ID+"/deliveries?limit=100", admin, nil, &page, 200)
		if len(page.Data) != n {
			return false
		}
		for _, d := range page.Data {
			if d.Status != hookgate.DeliverySucceeded {
				return false
			}
			if d.Attempts != 1 {
				t.Fatalf("delivery %s: %d attempts; waiting for the rate limit counted as one", d.ID, d.Attempts)
			}
		}
		return true
	})
}
