package signing_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/signing"
)

// FuzzVerifyRequest feeds arbitrary header values, bodies and secrets to the
// verifier: it must never panic, and must accept only what the secret signed.
func FuzzVerifyRequest(f *testing.F) {
	const now = 1710700000
	valid := signing.AppendHeaders(nil, "dlv_1", "contact.created", now, []byte(`{"a":1}`), signing.NewKey(specSecret), signing.NewKey("old"))
	get := func(name string) string {
		for _, h := range valid {
			if h.Name == name {
				return h.Value
			}
		}
		return ""
	}
	f.Add(specSecret, get(signing.HeaderTimestamp), get(signing.HeaderSignature), get(signing.HeaderSignaturePrevious),
		get(signing.HeaderWebhookID), get(signing.HeaderWebhookTimestamp), get(signing.HeaderWebhookSignature), []byte(`{"a":1}`))
	f.Add("", "", "", "", "", "", "", []byte(nil))
	f.Add("whsec_", "-9223372036854775808", "zz", "", "id", "-9223372036854775808", "v1, v1,,, ,v1", []byte("x"))
	f.Add("whsec_====", "1710700000", strings.Repeat("a", 64), "", "i", "1710700000", "v1,"+strings.Repeat("A", 44), []byte{0xff})
	f.Fuzz(func(t *testing.T, secret, ts, sig, prev, id, wts, wsig string, body []byte) {
		h := http.Header{}
		for name, v := range map[string]string{
			signing.HeaderTimestamp: ts, signing.HeaderSignature: sig, signing.HeaderSignaturePrevious: prev,
			signing.HeaderWebhookID: id, signing.HeaderWebhookTimestamp: wts, signing.HeaderWebhookSignature: wsig,
		} {
			h.Set(name, v)
		}
		err := signing.VerifyRequest([]string{secret}, h, body, time.Unix(now, 0), time.Minute)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		// Accepted: it must be exactly what the secret would have signed.
		if !signing.VerifySeed(secret, ts, body, sig) && !signing.VerifySeed(secret, ts, body, prev) {
			t.Fatal("accepted without a valid seed signature")
		}
		if !signing.VerifyStandard(secret, id, wts, body, wsig) {
			t.Fatal("accepted without a valid standard signature")
		}
	})
}
