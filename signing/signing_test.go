package signing_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookgate/hookgate/signing"
)

// The expected values below are computed by an implementation written here,
// from the two specifications, without calling the package under test.

func refSeed(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts, 10) + "." + string(body)))
	return hex.EncodeToString(m.Sum(nil))
}

func refStdKey(secret string) []byte {
	if strings.HasPrefix(secret, "whsec_") {
		if k, err := base64.StdEncoding.DecodeString(secret[len("whsec_"):]); err == nil && len(k) > 0 {
			return k
		}
	}
	return []byte(secret)
}

func refStd(secret, id string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, refStdKey(secret))
	m.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "." + string(body)))
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func toHTTP(hs []signing.Header) http.Header {
	h := http.Header{}
	for _, x := range hs {
		h.Add(x.Name, x.Value)
	}
	return h
}

func asMap(t *testing.T, hs []signing.Header) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, x := range hs {
		if _, dup := m[x.Name]; dup {
			t.Fatalf("header %s appended twice", x.Name)
		}
		m[x.Name] = x.Value
	}
	return m
}

const (
	specSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	prevSecret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
)

// Known answers, written out by hand. The first is the example of the
// Standard Webhooks specification; the others were computed with Python's
// hmac module as in the seed's example.
var vectors = []struct {
	name, secret, id string
	ts               int64
	body             string
	seed, std        string
}{
	{
		name: "standard webhooks specification example", secret: specSecret,
		id: "msg_p5jXN8AQM9LWM0D4loKWxJek", ts: 1614265330, body: `{"test": 2432232314}`,
		seed: "2e37df5d4a028c51a7f3133d64ae1e300d2c2c900f1b1d49d4369ad2530f8964",
		std:  "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
	},
	{
		name: "seed envelope", secret: specSecret, id: "dlv_01", ts: 1710700000,
		body: `{"event":"contact.created","timestamp":1710700000,"data":{"name":"john","extension":"1001"}}`,
		seed: "45669c992461301e59d11989d74275771bce86f322810611bf72874cf6aa0bd9",
		std:  "v1,U5Rz0LbpUVKNKu2DmnckdHQ5J57Yfs6Mu2KPWeJrC3I=",
	},
	{
		name: "secret without whsec_ prefix is raw bytes, empty body", secret: "plain-secret-not-whsec-form-123",
		id: "dlv_02", ts: 1710700001, body: "",
		seed: "2a60b1bc512e480abecaaf04a718fa1a2676a6a2e4cd2acbfb1692f3a29fa2fc",
		std:  "v1,vWVCAcL/oSf+CG3LAKZrSAxyM9HZkZnaPmWzCcWHESk=",
	},
	{
		name: "whsec_ prefix with invalid base64 falls back to raw bytes", secret: "whsec_not*base64!",
		id: "dlv_03", ts: 0, body: "hello",
		seed: "6b0b59dd2cd845a4d5792405d15fd8b615f5fbd66ea63d8542cfb9ee909163b1",
		std:  "v1,XtvPdyHOFcvHqPSleUwcFmtv8ngDBuDHZboMqAvw3ZU=",
	},
}

func TestSignedDeliveryMatchesKnownAnswers(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			// The reference implementation agrees with the written answers...
			if got := refSeed(v.secret, v.ts, []byte(v.body)); got != v.seed {
				t.Fatalf("reference seed signature %s, vector says %s", got, v.seed)
			}
			if got := refStd(v.secret, v.id, v.ts, []byte(v.body)); got != v.std {
				t.Fatalf("reference standard signature %s, vector says %s", got, v.std)
			}
			// ...and so does the package.
			h := asMap(t, signing.AppendHeaders(nil, v.id, "contact.created", v.ts, []byte(v.body), signing.NewKey(v.secret)))
			want := map[string]string{
				"X-Webhook-Event":     "contact.created",
				"X-Webhook-Timestamp": strconv.FormatInt(v.ts, 10),
				"X-Webhook-Signature": v.seed,
				"webhook-id":          v.id,
				"webhook-timestamp":   strconv.FormatInt(v.ts, 10),
				"webhook-signature":   v.std,
			}
			if len(h) != len(want) {
				t.Errorf("got %d headers %v, want %d", len(h), h, len(want))
			}
			for name, w := range want {
				if h[name] != w {
					t.Errorf("%s = %q, want %q", name, h[name], w)
				}
			}
			ts := strconv.FormatInt(v.ts, 10)
			if !signing.VerifySeed(v.secret, ts, []byte(v.body), v.seed) {
				t.Error("VerifySeed refuses the known answer")
			}
			if !signing.VerifySeed(v.secret, ts, []byte(v.body), strings.ToUpper(v.seed)) {
				t.Error("VerifySeed refuses the known answer in upper-case hex")
			}
			if !signing.VerifyStandard(v.secret, v.id, ts, []byte(v.body), v.std) {
				t.Error("VerifyStandard refuses the known answer")
			}
		})
	}
}

func TestHeadersAreEqualToAnIndependentImplementation(t *testing.T) {
	bodies := []string{"", "{}", `{"event":"deal.stage_changed","data":{"x":"é✓"}}`, strings.Repeat("z", 70000)}
	secrets := []string{specSecret, prevSecret, "s", "a secret with spaces and ünïcode", "whsec_"}
	for _, body := range bodies {
		for _, secret := range secrets {
			for _, ts := range []int64{0, 1, 1710700000, -5, 1<<62 + 7} {
				id := "dlv_" + strconv.FormatInt(ts, 36)
				h := asMap(t, signing.AppendHeaders(nil, id, "e", ts, []byte(body), signing.NewKey(secret)))
				if w := refSeed(secret, ts, []byte(body)); h[signing.HeaderSignature] != w {
					t.Fatalf("secret %q ts %d body len %d: seed %s, want %s", secret, ts, len(body), h[signing.HeaderSignature], w)
				}
				if w := refStd(secret, id, ts, []byte(body)); h[signing.HeaderWebhookSignature] != w {
					t.Fatalf("secret %q ts %d body len %d: standard %s, want %s", secret, ts, len(body), h[signing.HeaderWebhookSignature], w)
				}
			}
		}
	}
}

func TestStandardWebhooksLibraryVerifiesOurSignature(t *testing.T) {
	body := []byte(`{"event":"contact.created","timestamp":1710700000,"data":{"id":42}}`)
	now := time.Now().Unix()
	for _, keys := range [][]string{{specSecret}, {specSecret, prevSecret}, {prevSecret, specSecret}} {
		var ks []signing.Key
		for _, s := range keys {
			ks = append(ks, signing.NewKey(s))
		}
		h := toHTTP(signing.AppendHeaders(nil, "dlv_lib", "contact.created", now, body, ks...))
		for _, s := range keys {
			wh, err := standardwebhooks.NewWebhook(s)
			if err != nil {
				t.Fatal(err)
			}
			if err := wh.Verify(body, h); err != nil {
				t.Errorf("keys %v: the Standard Webhooks library refuses secret %s: %v", keys, s, err)
			}
			if err := wh.Verify(append([]byte(nil), append(body, ' ')...), h); err == nil {
				t.Errorf("keys %v: the library accepts a tampered body", keys)
			}
		}
		other, _ := standardwebhooks.NewWebhook("whsec_" + base64.StdEncoding.EncodeToString([]byte("someone else's key, 32 bytes...")))
		if err := other.Verify(body, h); err == nil {
			t.Errorf("keys %v: the library accepts another secret", keys)
		}
	}
	// And the other way round: what the library signs, we verify.
	wh, _ := standardwebhooks.NewWebhook(specSecret)
	sig, err := wh.Sign("msg_x", time.Unix(now, 0), body)
	if err != nil {
		t.Fatal(err)
	}
	if !signing.VerifyStandard(specSecret, "msg_x", strconv.FormatInt(now, 10), body, sig) {
		t.Error("VerifyStandard refuses the library's signature")
	}
}

func TestRotationSignsWithBothSecretsDuringGrace(t *testing.T) {
	body := []byte(`{"a":1}`)
	const ts = 1710700000
	h := asMap(t, signing.AppendHeaders(nil, "dlv_r", "contact.updated", ts, body,
		signing.NewKey(specSecret), signing.NewKey(prevSecret)))
	// Written out by hand, then checked against the reference too.
	want := map[string]string{
		"X-Webhook-Event":              "contact.updated",
		"X-Webhook-Timestamp":          "1710700000",
		"X-Webhook-Signature":          "4bc279f46cec41244caffbd76f4cdc848f3c1f7588573e0e655d35aa7c1d1585",
		"X-Webhook-Signature-Previous": "f476845951d7496a73ccf49626eb32c02874b224608a33346223d6e9734c11be",
		"webhook-id":                   "dlv_r",
		"webhook-timestamp":            "1710700000",
		"webhook-signature":            "v1,vNEpPsbM2V3RlWYvW+83bNMlNCH5+TdztxagDcOOGm0= v1,a1cgPFdpe69dSVCeN1hV4ahCXoAQ11s5NsGLjZVnrbo=",
	}
	if len(h) != len(want) {
		t.Errorf("got headers %v, want %v", h, want)
	}
	for name, w := range want {
		if h[name] != w {
			t.Errorf("%s = %q, want %q", name, h[name], w)
		}
	}
	if w := refSeed(prevSecret, ts, body); h[signing.HeaderSignaturePrevious] != w {
		t.Errorf("previous signature %s, reference %s", h[signing.HeaderSignaturePrevious], w)
	}
	if w := refStd(specSecret, "dlv_r", ts, body) + " " + refStd(prevSecret, "dlv_r", ts, body); h[signing.HeaderWebhookSignature] != w {
		t.Errorf("webhook-signature %s, reference %s", h[signing.HeaderWebhookSignature], w)
	}

	// A receiver holding either secret verifies, with both schemes.
	hh := toHTTP(signing.AppendHeaders(nil, "dlv_r", "contact.updated", time.Now().Unix(), body,
		signing.NewKey(specSecret), signing.NewKey(prevSecret)))
	for _, s := range []string{specSecret, prevSecret} {
		if err := signing.VerifyRequest([]string{s}, hh, body, time.Now(), 0); err != nil {
			t.Errorf("receiver with %s: %v", s, err)
		}
	}
	// After the grace period only the new secret signs: the old one fails.
	after := toHTTP(signing.AppendHeaders(nil, "dlv_r", "contact.updated", time.Now().Unix(), body, signing.NewKey(specSecret)))
	if after.Get(signing.HeaderSignaturePrevious) != "" {
		t.Error("X-Webhook-Signature-Previous sent with a single key")
	}
	if err := signing.VerifyRequest([]string{prevSecret}, after, body, time.Now(), 0); !errors.Is(err, signing.ErrSignatureMismatch) {
		t.Errorf("old secret after grace: err %v, want ErrSignatureMismatch", err)
	}
	if err := signing.VerifyRequest([]string{prevSecret, specSecret}, after, body, time.Now(), 0); err != nil {
		t.Errorf("receiver holding both secrets after grace: %v", err)
	}
}

func TestUnsignedDeliveryHasNoSignatureHeaders(t *testing.T) {
	h := asMap(t, signing.AppendHeaders(nil, "dlv_u", "webhook.test", 1710700000, []byte("{}")))
	want := map[string]string{
		"X-Webhook-Event": "webhook.test", "X-Webhook-Timestamp": "1710700000",
		"webhook-id": "dlv_u", "webhook-timestamp": "1710700000",
	}
	if len(h) != len(want) {
		t.Fatalf("got %v, want %v", h, want)
	}
	for name, w := range want {
		if h[name] != w {
			t.Errorf("%s = %q, want %q", name, h[name], w)
		}
	}
}

func TestAppendHeadersKeepsWhatDstHeld(t *testing.T) {
	dst := []signing.Header{{"Content-Type", "application/json"}}
	out := signing.AppendHeaders(dst, "id", "e", 1, nil, signing.NewKey("k"))
	if len(out) != 7 || out[0] != dst[0] {
		t.Fatalf("got %v", out)
	}
}

func TestZeroKeySignsWithEmptySecret(t *testing.T) {
	h := asMap(t, signing.AppendHeaders(nil, "id", "e", 5, []byte("b"), signing.Key{}))
	if h[signing.HeaderSignature] != refSeed("", 5, []byte("b")) || h[signing.HeaderWebhookSignature] != refStd("", "id", 5, []byte("b")) {
		t.Fatalf("zero key: %v", h)
	}
}

func TestVerifyRequestRules(t *testing.T) {
	body := []byte(`{"event":"contact.created"}`)
	now := time.Unix(1710700000, 0)
	signed := func(ts int64, keys ...string) http.Header {
		var ks []signing.Key
		for _, k := range keys {
			ks = append(ks, signing.NewKey(k))
		}
		return toHTTP(signing.AppendHeaders(nil, "dlv_1", "contact.created", ts, body, ks...))
	}
	without := func(h http.Header, name string) http.Header { h.Del(name); return h }
	with := func(h http.Header, name, v string) http.Header { h.Set(name, v); return h }
	// A request whose seed signature comes from one secret and standard from another.
	mixed := signed(now.Unix(), specSecret)
	mixed.Set(signing.HeaderWebhookSignature, signed(now.Unix(), prevSecret).Get(signing.HeaderWebhookSignature))

	cases := []struct {
		name    string
		secrets []string
		h       http.Header
		body    []byte
		tol     time.Duration
		want    error // nil: accepted
	}{
		{"valid", []string{specSecret}, signed(now.Unix(), specSecret), body, 0, nil},
		{"second secret of the receiver", []string{"other-secret", specSecret}, signed(now.Unix(), specSecret), body, 0, nil},
		{"no secrets", nil, signed(now.Unix(), specSecret), body, 0, signing.ErrNoSecrets},
		{"tampered body", []string{specSecret}, signed(now.Unix(), specSecret), []byte(`{"event":"contact.deleted"}`), 0, signing.ErrSignatureMismatch},
		{"wrong secret", []string{prevSecret}, signed(now.Unix(), specSecret), body, 0, signing.ErrSignatureMismatch},
		{"unsigned", []string{specSecret}, signed(now.Unix()), body, 0, signing.ErrMissingHeader},
		{"only seed scheme", []string{specSecret}, without(signed(now.Unix(), specSecret), signing.HeaderWebhookSignature), body, 0, signing.ErrMissingHeader},
		{"only standard scheme", []string{specSecret}, without(signed(now.Unix(), specSecret), signing.HeaderSignature), body, 0, signing.ErrMissingHeader},
		{"no webhook-id", []string{specSecret}, without(signed(now.Unix(), specSecret), signing.HeaderWebhookID), body, 0, signing.ErrMissingHeader},
		{"other webhook-id", []string{specSecret}, with(signed(now.Unix(), specSecret), signing.HeaderWebhookID, "dlv_2"), body, 0, signing.ErrSignatureMismatch},
		{"seed signature forged", []string{specSecret}, with(signed(now.Unix(), specSecret), signing.HeaderSignature, strings.Repeat("0", 64)), body, 0, signing.ErrSignatureMismatch},
		{"standard signature forged", []string{specSecret}, with(signed(now.Unix(), specSecret), signing.HeaderWebhookSignature, "v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32))), body, 0, signing.ErrSignatureMismatch},
		{"standard signature of another version", []string{specSecret}, with(signed(now.Unix(), specSecret), signing.HeaderWebhookSignature, "v1a,"+strings.TrimPrefix(signed(now.Unix(), specSecret).Get(signing.HeaderWebhookSignature), "v1,")), body, 0, signing.ErrSignatureMismatch},
		{"schemes signed by different secrets", []string{specSecret, prevSecret}, mixed, body, 0, signing.ErrSignatureMismatch},
		{"timestamps differ", []string{specSecret}, with(signed(now.Unix(), specSecret), signing.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix()+1, 10)), body, 0, signing.ErrInvalidTimestamp},
		{"timestamp not a number", []string{specSecret}, with(with(signed(now.Unix(), specSecret), signing.HeaderWebhookTimestamp, "soon"), signing.HeaderTimestamp, "soon"), body, 0, signing.ErrInvalidTimestamp},
		{"just within default tolerance", []string{specSecret}, signed(now.Unix()-300, specSecret), body, 0, nil},
		{"older than default tolerance", []string{specSecret}, signed(now.Unix()-301, specSecret), body, 0, signing.ErrTimestampTooOld},
		{"newer than default tolerance", []string{specSecret}, signed(now.Unix()+301, specSecret), body, 0, signing.ErrTimestampTooNew},
		{"older than a short tolerance", []string{specSecret}, signed(now.Unix()-11, specSecret), body, 10 * time.Second, signing.ErrTimestampTooOld},
		{"far past", []string{specSecret}, signed(-1<<63, specSecret), body, 0, signing.ErrTimestampTooOld},
		{"far future", []string{specSecret}, signed(1<<63-1, specSecret), body, 0, signing.ErrTimestampTooNew},
		{"previous seed signature alone verifies for the old secret", []string{prevSecret}, signed(now.Unix(), specSecret, prevSecret), body, 0, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := signing.VerifyRequest(c.secrets, c.h, c.body, now, c.tol)
			switch {
			case c.want == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != nil && !errors.Is(err, c.want):
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

func TestVerifyRequestAcceptsLowercaseHeaderMap(t *testing.T) {
	body := []byte("x")
	h := http.Header{}
	for _, x := range signing.AppendHeaders(nil, "id", "e", 100, body, signing.NewKey("k")) {
		h[x.Name] = []string{x.Value} // as spelt, not canonicalised
	}
	if err := signing.VerifyRequest([]string{"k"}, h, body, time.Unix(100, 0), 0); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyStandardChecksABoundedNumberOfEntries(t *testing.T) {
	body := []byte("x")
	good := refStd("k", "id", 1, body)
	junk := strings.Repeat("v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32))+" ", 16)
	if !signing.VerifyStandard("k", "id", "1", body, "v0,abc  "+good) {
		t.Error("a valid entry after an unknown version and extra spaces is refused")
	}
	if signing.VerifyStandard("k", "id", "1", body, junk+good) {
		t.Error("a 17th entry was checked")
	}
}

func BenchmarkAppendHeaders(b *testing.B) {
	body := []byte(`{"event":"contact.created","timestamp":1710700000,"id":"evt_01HV","data":{"id":42,"name":"John Doe","email":"john@example.com","phone":"+15550100"}}`)
	one := []signing.Key{signing.NewKey(specSecret)}
	two := []signing.Key{signing.NewKey(specSecret), signing.NewKey(prevSecret)}
	for _, bc := range []struct {
		name string
		keys []signing.Key
	}{{"one-key", one}, {"rotation-two-keys", two}, {"unsigned", nil}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			dst := make([]signing.Header, 0, 8)
			for b.Loop() {
				dst = signing.AppendHeaders(dst[:0], "dlv_01HV2Q4X8Z", "contact.created", 1710700000, body, bc.keys...)
			}
		})
	}
}

func BenchmarkNewKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = signing.NewKey(specSecret)
	}
}

func TestNewSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		sec := signing.NewSecret()
		rest, ok := strings.CutPrefix(sec, signing.SecretPrefix)
		b, err := base64.StdEncoding.DecodeString(rest)
		if !ok || err != nil || len(b) != 32 || len(sec) != 50 || seen[sec] {
			t.Fatalf("secret %q: not whsec_ and the base64 of 32 new bytes (%v)", sec, err)
		}
		seen[sec] = true
		// It is the key Standard Webhooks receivers derive.
		if !hmac.Equal(signing.StandardKey(sec), b) {
			t.Fatalf("StandardKey(%q) is not its 32 bytes", sec)
		}
	}
}
