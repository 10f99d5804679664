package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
)

// rotateOnce posts one rotation and returns the status and body; safe to
// call from any goroutine (it does not fail the test itself).
func rotateOnce(base, id, token, grace string) (int, []byte, error) {
	body, _ := json.Marshal(map[string]string{"grace_period": grace})
	req, err := http.NewRequest("POST", base+"/v1/webhooks/"+id+"/rotate-secret", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// Twenty rotations of one webhook at once, through two hookgate processes
// on one Redis: one is applied, the others are refused with 409 while its
// grace period runs, and the secret that was answered signs deliveries
// (beside the old one, through the grace period). Before, all twenty
// answered 200 and eighteen of the secrets never signed anything.
func TestConcurrentRotationsApplyOneAndRefuseTheOthers(t *testing.T) {
	h := start(t, nil)
	other := startShared(t, h, "api")
	admin, pub := h.token("acme", "admin"), h.token("acme", "publisher")
	rec := receiver.NewRecorder()
	srv := httptest.NewServer(rec)
	defer srv.Close()
	w := h.createWebhook(admin, map[string]any{"name": "rot", "endpoints": endpoints(srv.URL), "events": []string{"deal.*"}})

	const n = 20
	type answer struct {
		status int
		body   []byte
		err    error
	}
	answers := make([]answer, n)
	var wg sync.WaitGroup
	startGun := make(chan struct{})
	for i := range n {
		base := h.base
		if i%2 == 1 {
			base = other.base
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGun
			s, b, err := rotateOnce(base, w.ID, admin, "1h")
			answers[i] = answer{s, b, err}
		}()
	}
	close(startGun)
	wg.Wait()

	var applied []createdWebhook
	for i, a := range answers {
		if a.err != nil {
			t.Fatalf("rotation %d: %v", i, a.err)
		}
		r := response{Status: a.status, Body: a.body}
		switch a.status {
		case 200:
			var rot createdWebhook
			r.json(t, &rot)
			applied = append(applied, rot)
		case 409:
			var e apiError
			r.json(t, &e)
			if e.Error.Code != hookgate.ECONFLICT || !strings.Contains(e.Error.Message, "rotation") {
				t.Fatalf("rotation %d refused with %s", i, a.body)
			}
		default:
			t.Fatalf("rotation %d answered %d %s", i, a.status, a.body)
		}
	}
	if len(applied) != 1 {
		t.Fatalf("%d rotations applied, want 1", len(applied))
	}
	rot := applied[0]
	if rot.Secret == "" || rot.Secret == w.Secret || time.Until(rot.PreviousSecretUntil) < 59*time.Minute {
		t.Fatalf("applied rotation answered secret %q, previous until %v", rot.Secret, rot.PreviousSecretUntil)
	}

	// The answered secret signs, and so does the old one during the grace.
	h.publish(pub, "deal.created", map[string]any{"n": 1})
	got, err := rec.WaitFor(testenv.Context(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{rot.Secret, w.Secret} {
		if err := verifyWith(s, got[0]); err != nil {
			t.Fatalf("secret %s… does not verify during the grace period: %v", s[:10], err)
		}
	}
	if n := len(strings.Fields(got[0].Header.Get("webhook-signature"))); n != 2 {
		t.Fatalf("%d signatures, want 2", n)
	}

	// Through either process, a later rotation during the grace period is
	// refused too, and says until when; one without grace is the way to
	// replace a secret at once (a leaked one).
	for _, base := range []string{h.base, other.base} {
		s, b, err := rotateOnce(base, w.ID, admin, "24h")
		if err != nil || s != 409 || !strings.Contains(string(b), rot.PreviousSecretUntil.Format(time.RFC3339)) {
			t.Fatalf("rotation during the grace period: %d %s %v", s, b, err)
		}
	}
	s, b, err := rotateOnce(other.base, w.ID, admin, "0s")
	if err != nil || s != 200 {
		t.Fatalf("rotation without grace during a grace period: %d %s %v", s, b, err)
	}
}
