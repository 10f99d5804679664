package incoming

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hookgate/hookgate"
)

func compress(t testing.TB, coding string, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	switch coding {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "zlib":
		w = zlib.NewWriter(&buf)
	case "flate":
		w, _ = flate.NewWriter(&buf, flate.DefaultCompression)
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestTransformBodiesAreInflatedWithinTheLimit(t *testing.T) {
	msg := []byte(`{"event":"ContactCreated"}`)
	exact := bytes.Repeat([]byte("a"), 64)
	for _, tc := range []struct {
		name, encoding string
		body           []byte
		max            int
		want           []byte
		code           string
	}{
		{"none", "", msg, 64, msg, ""},
		{"identity", "identity", msg, 64, msg, ""},
		{"gzip", "gzip", compress(t, "gzip", msg), 64, msg, ""},
		{"x-gzip, upper case", "X-GZIP", compress(t, "gzip", msg), 64, msg, ""},
		{"deflate (zlib)", "deflate", compress(t, "zlib", msg), 64, msg, ""},
		{"deflate (raw)", "deflate", compress(t, "flate", msg), 64, msg, ""},
		{"exactly the limit", "gzip", compress(t, "gzip", exact), 64, exact, ""},
		{"one byte over", "gzip", compress(t, "gzip", append(exact, 'a')), 64, nil, hookgate.ETOOLARGE},
		{"a bomb", "gzip", compress(t, "gzip", make([]byte, 8<<20)), 1 << 10, nil, hookgate.ETOOLARGE},
		{"brotli", "br", msg, 64, nil, hookgate.EUNSUPPORTED},
		{"stacked", "gzip, gzip", compress(t, "gzip", compress(t, "gzip", msg)), 64, nil, hookgate.EUNSUPPORTED},
		{"not gzip", "gzip", msg, 64, nil, hookgate.EMALFORMED},
		{"truncated gzip", "gzip", compress(t, "gzip", msg)[:20], 64, nil, hookgate.EMALFORMED},
	} {
		h := http.Header{}
		if tc.encoding != "" {
			h.Set("Content-Encoding", tc.encoding)
		}
		got, err := decodeBody(h, tc.body, tc.max)
		if code := hookgate.ErrorCode(err); code != tc.code || !bytes.Equal(got, tc.want) {
			t.Errorf("%s: got %q, %v; want %q, code %q", tc.name, got, err, tc.want, tc.code)
		}
	}
}

// FuzzDecodeBody: whatever the bytes and the encoding, the decoded body
// is never longer than the limit.
func FuzzDecodeBody(f *testing.F) {
	f.Add("gzip", compress(f, "gzip", make([]byte, 4096)))
	f.Add("deflate", compress(f, "zlib", []byte("hello")))
	f.Add("deflate", compress(f, "flate", []byte("hello")))
	f.Add("identity", []byte("plain"))
	f.Fuzz(func(t *testing.T, encoding string, body []byte) {
		const max = 1024
		h := http.Header{"Content-Encoding": {encoding}}
		got, err := decodeBody(h, body, max)
		if err != nil {
			return
		}
		// No coding named (blank or identity): the body is passed as sent,
		// bounded on the wire; anything decoded stays within the limit.
		named := false
		for _, c := range strings.Split(encoding, ",") {
			c = strings.ToLower(strings.TrimSpace(c))
			named = named || (c != "" && c != "identity")
		}
		if !named && !bytes.Equal(got, body) {
			t.Fatalf("no encoding named (%q), but the body was changed", encoding)
		}
		if named && len(got) > max {
			t.Fatalf("decoded %d bytes, over the limit of %d", len(got), max)
		}
	})
}
