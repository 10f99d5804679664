package receiver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/testenv"
	"github.com/hookgate/hookgate/signing"
)

const (
	secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	other  = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
)

type delivery struct {
	id, event string
	ts        int64
	body      []byte
	secrets   []string // signing secrets, current first; none: unsigned
	sent      []byte   // when set, sent instead of the signed body
}

func signed(id, event string, body []byte, secrets ...string) delivery {
	return delivery{id: id, event: event, ts: time.Now().Unix(), body: body, secrets: secrets}
}

// send POSTs d to url over loopback with the headers hookgate would send.
func send(t *testing.T, url string, d delivery) (int, string) {
	t.Helper()
	sent := d.body
	if d.sent != nil {
		sent = d.sent
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(sent))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	var keys []signing.Key
	for _, s := range d.secrets {
		keys = append(keys, signing.NewKey(s))
	}
	for _, h := range signing.AppendHeaders(nil, d.id, d.event, d.ts, d.body, keys...) {
		req.Header.Set(h.Name, h.Value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var envelope = []byte(`{"event":"contact.created","timestamp":1710700000,"data":{"name":"john","extension":"1001"}}`)

func TestReceiverVerifiesAndPrintsASignedDelivery(t *testing.T) {
	out := &testenv.SyncBuffer{}
	rv := receiver.New(receiver.Config{Secrets: []string{secret}, Out: out})
	srv := httptest.NewServer(rv)
	defer srv.Close()

	code, _ := send(t, srv.URL+"/hooks?x=1", signed("dlv_1", "contact.created", envelope, secret))
	if code != http.StatusOK {
		t.Fatalf("status %d, want 200", code)
	}
	text := out.String()
	for _, want := range []string{
		"POST /hooks?x=1 ", " id=dlv_1 ", " event=contact.created ", " verified=ok ",
		" size=" + strconv.Itoa(len(envelope)) + " ", " status=200\n",
		"\n  {\n    \"event\": \"contact.created\",", // pretty-printed, indented
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if s := rv.Stats(); s != (receiver.Stats{OK: 1}) {
		t.Errorf("stats %+v, want one ok", s)
	}
}

func TestReceiverRefusesWhatDoesNotVerify(t *testing.T) {
	tampered := signed("dlv_t", "contact.created", envelope, secret)
	tampered.sent = bytes.Replace(envelope, []byte("john"), []byte("jane"), 1)
	stale := signed("dlv_s", "contact.created", envelope, secret)
	stale.ts -= 360 // a minute past the 5-minute tolerance, so a slow run cannot bring it back within
	future := signed("dlv_f", "contact.created", envelope, secret)
	future.ts += 360

	cases := []struct {
		name   string
		d      delivery
		reason string // in the output and the response body
	}{
		{"tampered body", tampered, "signature mismatch"},
		{"wrong secret", signed("dlv_w", "contact.created", envelope, other), "signature mismatch"},
		{"stale timestamp", stale, "too old"},
		{"timestamp in the future", future, "in the future"},
		{"unsigned", signed("dlv_u", "contact.created", envelope), "missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := &testenv.SyncBuffer{}
			rv := receiver.New(receiver.Config{Secrets: []string{secret}, Out: out, Status: 202})
			srv := httptest.NewServer(rv)
			defer srv.Close()
			code, body := send(t, srv.URL, c.d)
			if code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", code)
			}
			if !strings.Contains(body, c.reason) {
				t.Errorf("response %q does not say %q", body, c.reason)
			}
			if text := out.String(); !strings.Contains(text, " verified=FAILED (") || !strings.Contains(text, c.reason) {
				t.Errorf("output does not report the failure %q:\n%s", c.reason, text)
			}
			if s := rv.Stats(); s != (receiver.Stats{Failed: 1}) {
				t.Errorf("stats %+v, want one failed", s)
			}
		})
	}
}

func TestReceiverAnswersTheChosenStatus(t *testing.T) {
	rv := receiver.New(receiver.Config{Secrets: []string{other, secret}, Status: http.StatusServiceUnavailable})
	srv := httptest.NewServer(rv)
	defer srv.Close()
	if code, _ := send(t, srv.URL, signed("dlv_1", "e", envelope, secret)); code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", code)
	}
	if s := rv.Stats(); s.OK != 1 {
		t.Errorf("stats %+v, want the delivery verified by the second secret", s)
	}
}

func TestReceiverVerifiesDuringRotationWithEitherSecret(t *testing.T) {
	for _, held := range []string{secret, other} {
		rv := receiver.New(receiver.Config{Secrets: []string{held}})
		srv := httptest.NewServer(rv)
		if code, _ := send(t, srv.URL, signed("dlv_r", "e", envelope, secret, other)); code != http.StatusOK {
			t.Errorf("receiver holding %s: status %d", held, code)
		}
		srv.Close()
	}
}

func TestReceiverWithoutSecretChecksNothing(t *testing.T) {
	out := &testenv.SyncBuffer{}
	rv := receiver.New(receiver.Config{Out: out, Quiet: true})
	srv := httptest.NewServer(rv)
	defer srv.Close()
	if code, _ := send(t, srv.URL, signed("dlv_1", "e", envelope)); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if !strings.Contains(out.String(), "verified=unchecked") || strings.Contains(out.String(), "contact.created") {
		t.Errorf("quiet unchecked output wrong:\n%s", out.String())
	}
	if s := rv.Stats(); s != (receiver.Stats{Unchecked: 1}) {
		t.Errorf("stats %+v", s)
	}
}

func TestReceiverBoundsBodiesAndOutput(t *testing.T) {
	out := &testenv.SyncBuffer{}
	rv := receiver.New(receiver.Config{Secrets: []string{secret}, Out: out})
	srv := httptest.NewServer(rv)
	defer srv.Close()

	big := []byte(`{"data":"` + strings.Repeat("é", 3000) + `"}`)
	if code, _ := send(t, srv.URL, signed("dlv_big", "e", big, secret)); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	text := out.String()
	if !strings.Contains(text, "(truncated, "+strconv.Itoa(len(big))+" bytes received)") || len(text) > receiver.MaxPrintedBody+400 {
		t.Errorf("body not truncated to 2 KiB: %d bytes printed", len(text))
	}

	huge := bytes.Repeat([]byte("x"), receiver.MaxBodyBytes+1)
	if code, _ := send(t, srv.URL, signed("dlv_huge", "e", huge, secret)); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d for a body over 1 MiB, want 413", code)
	}
}

func TestReceiverStripsControlCharactersFromOutput(t *testing.T) {
	out := &testenv.SyncBuffer{}
	rv := receiver.New(receiver.Config{Out: out})
	req := httptest.NewRequest(http.MethodPost, "/p", strings.NewReader("raw \x1b[31m text\u009b"))
	req.Header.Set(signing.HeaderWebhookID, "dlv_\x1b[2J")
	req.Header.Set(signing.HeaderEvent, "evil\x1b]0;title\x07\u009b")
	rv.ServeHTTP(httptest.NewRecorder(), req)
	if !strings.Contains(out.String(), "id=dlv_?[2J") {
		t.Fatalf("delivery not printed: %q", out.String())
	}
	if strings.ContainsAny(out.String(), "\x1b\x07\u009b") {
		t.Errorf("control characters reached the output: %q", out.String())
	}
}

// confirmServer counts the GETs of its confirmation link.
func confirmServer(t *testing.T) (*httptest.Server, chan string) {
	got := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Method + " " + r.URL.RequestURI()
		io.WriteString(w, "confirmed")
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func confirmation(subscribeURL string) []byte {
	b, _ := json.Marshal(map[string]string{
		"Type": "SubscriptionConfirmation", "MessageId": "m1", "Token": "tok",
		"SubscribeURL": subscribeURL, "Timestamp": "2026-01-01T00:00:00Z", "Message": "confirm",
	})
	return b
}

func TestReceiverAutoConfirmFollowsSubscribeURL(t *testing.T) {
	cs, got := confirmServer(t)
	out := &testenv.SyncBuffer{}
	rv := receiver.New(receiver.Config{Secrets: []string{secret}, Out: out, AutoConfirm: true})
	srv := httptest.NewServer(rv)
	defer srv.Close()

	link := cs.URL + "/v1/confirm?token=abc"
	if code, _ := send(t, srv.URL, signed("dlv_c", "webhook.confirmation", confirmation(link), secret)); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	select {
	case g := <-got:
		if g != "GET /v1/confirm?token=abc" {
			t.Errorf("confirmation request %q", g)
		}
	default: // the GET is made before the delivery is answered
		t.Fatal("SubscribeURL not followed")
	}
	if !strings.Contains(out.String(), "confirm GET "+link+" -> 200") {
		t.Errorf("output lacks the confirmation result:\n%s", out.String())
	}

	// A confirmation that does not verify is not followed.
	if code, _ := send(t, srv.URL, signed("dlv_c2", "webhook.confirmation", confirmation(link), other)); code != http.StatusUnauthorized {
		t.Fatalf("forged confirmation answered %d", code)
	}
	select {
	case g := <-got:
		t.Fatalf("forged confirmation followed: %s", g)
	default:
	}
	// Without --confirm nothing is followed.
	plain := httptest.NewServer(receiver.New(receiver.Config{Secrets: []string{secret}}))
	defer plain.Close()
	send(t, plain.URL, signed("dlv_c3", "webhook.confirmation", confirmation(link), secret))
	select {
	case g := <-got:
		t.Fatalf("followed without AutoConfirm: %s", g)
	default:
	}
}

func TestServeStopsWhenContextEnds(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := &testenv.SyncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- receiver.Serve(ctx, ln, receiver.Config{Secrets: []string{secret}, Out: out})
	}()
	if code, _ := send(t, "http://"+ln.Addr().String()+"/", signed("dlv_1", "e", envelope, secret)); code != http.StatusOK {
		t.Errorf("status %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve returned %v after ctx ended", err)
	}
	if !strings.Contains(out.String(), "listening on http://"+ln.Addr().String()) || !strings.Contains(out.String(), "verified=ok") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestRunReportsAnAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = receiver.Run(context.Background(), receiver.Config{Addr: ln.Addr().String()})
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("Run on a busy port: %v", err)
	}
}

func TestRecorderKeepsVerifiedDeliveries(t *testing.T) {
	rec := receiver.NewRecorder(secret)
	srv := httptest.NewServer(rec)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	send(t, srv.URL+"/a", signed("dlv_1", "contact.created", envelope, secret))
	got, err := rec.WaitFor(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	d := got[0]
	if !d.Verified || d.Err != nil || d.ID != "dlv_1" || d.Event != "contact.created" || d.Path != "/a" ||
		d.Method != http.MethodPost || !bytes.Equal(d.Body, envelope) || d.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("delivery %+v", d)
	}

	if code, _ := send(t, srv.URL, signed("dlv_2", "e", envelope, other)); code != http.StatusUnauthorized {
		t.Fatalf("wrong secret answered %d", code)
	}
	got, err = rec.WaitFor(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if d := got[1]; d.Verified || !errors.Is(d.Err, signing.ErrSignatureMismatch) {
		t.Fatalf("wrong secret recorded as %+v", d)
	}
	if s := rec.Stats(); s != (receiver.Stats{OK: 1, Failed: 1}) {
		t.Errorf("stats %+v", s)
	}

	rec.SetStatus(http.StatusGone)
	if code, _ := send(t, srv.URL, signed("dlv_3", "e", envelope, secret)); code != http.StatusGone {
		t.Errorf("SetStatus(410): answered %d", code)
	}
	if rec.Count() != 3 || len(rec.Deliveries()) != 3 {
		t.Errorf("count %d, kept %d", rec.Count(), len(rec.Deliveries()))
	}
	rec.Reset()
	if rec.Count() != 0 || len(rec.Deliveries()) != 0 || rec.Stats() != (receiver.Stats{}) {
		t.Error("Reset kept something")
	}
}

func TestRecorderCustomHandlerCanHoldARequest(t *testing.T) {
	rec := receiver.NewRecorder(secret)
	release := make(chan struct{})
	rec.SetHandler(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body) // readable again
		<-release
		w.Header().Set("Location", "http://example.invalid/")
		w.WriteHeader(http.StatusFound)
		w.Write(b)
	})
	srv := httptest.NewServer(rec)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	type result struct {
		code int
		body string
	}
	res := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(envelope))
		for _, h := range signing.AppendHeaders(nil, "dlv_h", "e", time.Now().Unix(), envelope, signing.NewKey(secret)) {
			req.Header.Set(h.Name, h.Value)
		}
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		if err != nil {
			res <- result{}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		res <- result{resp.StatusCode, string(b)}
	}()
	got, err := rec.WaitFor(ctx, 1) // recorded while the request is still held
	if err != nil || !got[0].Verified {
		t.Fatalf("held delivery: %v %+v", err, got)
	}
	select {
	case r := <-res:
		t.Fatalf("answered %d before release", r.code)
	default:
	}
	close(release)
	if r := <-res; r.code != http.StatusFound || r.body != string(envelope) {
		t.Fatalf("custom answer %d %q", r.code, r.body)
	}

	rec.SetHandler(nil)
	if code, _ := send(t, srv.URL, signed("dlv_n", "e", envelope, secret)); code != http.StatusOK {
		t.Errorf("after SetHandler(nil): %d", code)
	}
}

func TestRecorderWaitForGivesUpWithCtx(t *testing.T) {
	rec := receiver.NewRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got, err := rec.WaitFor(ctx, 1)
	if !errors.Is(err, context.Canceled) || len(got) != 0 {
		t.Fatalf("WaitFor on an ended ctx: %v %v", got, err)
	}
}

func TestRecorderAutoConfirm(t *testing.T) {
	cs, got := confirmServer(t)
	rec := receiver.NewRecorder(secret)
	rec.SetAutoConfirm(true)
	srv := httptest.NewServer(rec)
	defer srv.Close()
	send(t, srv.URL, signed("dlv_c", "e", confirmation(cs.URL+"/c?token=t"), secret))
	ds := rec.Deliveries()
	if len(ds) != 1 || ds[0].Confirmation == nil || ds[0].Confirmation.StatusCode != 200 || ds[0].Confirmation.Err != nil {
		t.Fatalf("confirmation not recorded: %+v", ds)
	}
	if g := <-got; g != "GET /c?token=t" {
		t.Errorf("got %q", g)
	}
}
