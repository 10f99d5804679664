package incoming

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/hookgate/hookgate"
)

// decodeBody returns the caller's body as an incoming transform must read
// it. A forwarded body is never decoded (the upstream gets the caller's
// bytes and Content-Encoding as sent); a transform reads the message, so a
// gzip or deflate body is decoded here, and the decoded size is bounded by
// max: a few kilobytes of gzip can inflate to gigabytes, and the size limit
// on the wire says nothing of that. Past max: 413. Any other encoding, or
// more than one: 415. A body that does not decode: 400.
func decodeBody(h http.Header, body []byte, max int) ([]byte, error) {
	var codings []string
	for _, v := range h.Values("Content-Encoding") {
		for _, c := range strings.Split(v, ",") {
			if c = strings.ToLower(strings.TrimSpace(c)); c != "" && c != "identity" {
				codings = append(codings, c)
			}
		}
	}
	if len(codings) == 0 {
		return body, nil
	}
	if len(codings) > 1 {
		return nil, hookgate.Errorf(hookgate.EUNSUPPORTED, "Content-Encoding %q: one encoding at most (gzip or deflate)", strings.Join(codings, ", "))
	}
	var r io.Reader
	var err error
	switch codings[0] {
	case "gzip", "x-gzip":
		r, err = gzip.NewReader(bytes.NewReader(body))
	case "deflate":
		// HTTP's deflate is zlib-wrapped; some senders send raw deflate.
		if r, err = zlib.NewReader(bytes.NewReader(body)); err != nil {
			r, err = flate.NewReader(bytes.NewReader(body)), nil
		}
	default:
		return nil, hookgate.Errorf(hookgate.EUNSUPPORTED, "Content-Encoding %q is not accepted by this webhook's transform; send gzip, deflate or no encoding", codings[0])
	}
	if err != nil {
		return nil, &hookgate.Error{Code: hookgate.EMALFORMED, Message: "the request body does not decode as " + codings[0], Err: err}
	}
	var out bytes.Buffer
	n, err := out.ReadFrom(io.LimitReader(r, int64(max)+1))
	switch {
	case n > int64(max):
		return nil, hookgate.Errorf(hookgate.ETOOLARGE, "the decoded request body is larger than %d bytes", max)
	case err != nil && !errors.Is(err, io.EOF):
		return nil, &hookgate.Error{Code: hookgate.EMALFORMED, Message: "the request body does not decode as " + codings[0], Err: err}
	}
	return out.Bytes(), nil
}
