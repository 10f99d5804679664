package hookgate_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"testing"

	"github.com/hookgate/hookgate"
)

// TestEveryErrorCodeHasAStatus: each code error.go declares is in the status
// table, so that no code is answered with 500 by omission.
func TestEveryErrorCodeHasAStatus(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "error.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	known := hookgate.ErrorCodes()
	n := 0
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			for _, v := range spec.(*ast.ValueSpec).Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				code, _ := strconv.Unquote(lit.Value)
				n++
				if !slices.Contains(known, code) {
					t.Errorf("error code %q has no HTTP status", code)
				}
			}
		}
	}
	if n != len(known) {
		t.Errorf("error.go declares %d codes, the status table has %d", n, len(known))
	}
	for code, want := range map[string]int{hookgate.EINVALID: 400, hookgate.ENOTFOUND: 404, hookgate.EIDEMPOTENCY: 409,
		hookgate.EUNAVAILABLE: 503, hookgate.ETIMEOUT: 504, "no_such_code": 500} {
		if got := hookgate.HTTPStatus(code); got != want {
			t.Errorf("HTTPStatus(%q) = %d, want %d", code, got, want)
		}
	}
}
