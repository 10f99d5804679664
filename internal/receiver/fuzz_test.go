package receiver_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/signing"
)

// FuzzReceiverVerify sends arbitrary requests through the receiver's
// verification path: it must never panic, must answer 200 only when the
// request is authentic, and must otherwise answer 401 (or 413).
func FuzzReceiverVerify(f *testing.F) {
	now := time.Now().Unix()
	ts := strconv.FormatInt(now, 10)
	valid := map[string]string{}
	for _, h := range signing.AppendHeaders(nil, "dlv_1", "contact.created", now, envelope, signing.NewKey(secret), signing.NewKey(other)) {
		valid[h.Name] = h.Value
	}
	f.Add("POST", "/hooks", valid[signing.HeaderTimestamp], valid[signing.HeaderSignature], valid[signing.HeaderSignaturePrevious],
		valid[signing.HeaderWebhookID], valid[signing.HeaderWebhookTimestamp], valid[signing.HeaderWebhookSignature], "X-Extra", "1", envelope)
	f.Add("GET", "/", "", "", "", "", "", "", "", "", []byte(nil))
	f.Add("PUT", "/%zz", ts, "ZZ", "\x00", "id\r\n", ts, "v1,"+valid[signing.HeaderWebhookSignature], "webhook-signature", "v1,x", []byte(`{"Type":"SubscriptionConfirmation","SubscribeURL":"http://127.0.0.1:1/"}`))
	f.Fuzz(func(t *testing.T, method, path, xts, xsig, xprev, id, wts, wsig, extraName, extraValue string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Method = method
		req.URL.Path = path
		for name, v := range map[string]string{
			signing.HeaderTimestamp: xts, signing.HeaderSignature: xsig, signing.HeaderSignaturePrevious: xprev,
			signing.HeaderWebhookID: id, signing.HeaderWebhookTimestamp: wts, signing.HeaderWebhookSignature: wsig,
		} {
			if v != "" {
				req.Header[http.CanonicalHeaderKey(name)] = []string{v}
			}
		}
		if extraName != "" {
			req.Header[extraName] = append(req.Header[extraName], extraValue)
		}
		// AutoConfirm is on: a forged confirmation must not be followed, and
		// a real one points nowhere reachable in the corpus.
		rv := receiver.New(receiver.Config{Secrets: []string{secret}, Out: io.Discard, AutoConfirm: true, Client: &http.Client{Timeout: time.Second}})
		w := httptest.NewRecorder()
		rv.ServeHTTP(w, req)

		authentic := signing.VerifyRequest([]string{secret}, req.Header, body, time.Now(), 0) == nil
		switch w.Code {
		case http.StatusOK:
			if !authentic {
				t.Fatalf("answered 200 to a request that does not verify")
			}
		case http.StatusUnauthorized:
			if authentic {
				t.Fatalf("answered 401 to an authentic request")
			}
		case http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("unexpected status %d", w.Code)
		}
		s := rv.Stats()
		if s.OK+s.Failed != 1 || (s.OK == 1) != (w.Code == http.StatusOK) {
			t.Fatalf("stats %+v for status %d", s, w.Code)
		}
	})
}
