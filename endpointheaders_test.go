package hookgate

import (
	"strings"
	"testing"
)

func TestValidateHeaders(t *testing.T) {
	for _, c := range []struct {
		h     map[string]string
		field string // "" = valid
		msg   string
	}{
		{map[string]string{"X-Api-Key": "k", "Authorization": "Bearer x", "User-Agent": "erp/1"}, "", ""},
		{map[string]string{"X-Api-Key": ""}, "", ""},
		{map[string]string{"X-A": "1", "x-a": "2"}, "e.headers.x-a", "given twice"},
		{map[string]string{"WEBHOOK-ID": "x"}, "e.headers.WEBHOOK-ID", "signature"},
		{map[string]string{"x-webhook-signature-previous": "x"}, "e.headers.x-webhook-signature-previous", "signature"},
		{map[string]string{"Content-Encoding": "gzip"}, "e.headers.Content-Encoding", "body"},
		{map[string]string{"transfer-encoding": "chunked"}, "e.headers.transfer-encoding", "body"},
		{map[string]string{"TE": "trailers"}, "e.headers.TE", "hop-by-hop"},
		{map[string]string{"X-Tab": "a\x00b"}, "e.headers.X-Tab", "control characters"},
		{map[string]string{"": "x"}, "e.headers", "not a valid"},
		{map[string]string{strings.Repeat("X", 129): "x"}, "e.headers", "not a valid"},
		{map[string]string{"X-A": strings.Repeat("v", 2048), "X-B": strings.Repeat("v", 2048), "X-C": strings.Repeat("v", 2048),
			"X-D": strings.Repeat("v", 2048), "X-E": "v"}, "e.headers", "8192 bytes in all"},
	} {
		var v Validation
		ValidateHeaders(&v, "e", c.h)
		err := v.Err()
		if c.field == "" {
			if err != nil {
				t.Errorf("%.60v: %v", c.h, err)
			}
			continue
		}
		e, ok := err.(*Error)
		if !ok || !strings.Contains(e.Fields[c.field], c.msg) {
			t.Errorf("%.60v: got %v, want %s saying %q", c.h, err, c.field, c.msg)
		}
	}
}
