package gateway

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// decodingCalls are the methods that decode a request body by its
// Content-Encoding (Fiber's on *fiber.Ctx, fasthttp's on the request).
var (
	ctxDecoding     = map[string]bool{"Body": true, "BodyParser": true, "FormValue": true, "FormFile": true, "MultipartForm": true}
	requestDecoding = map[string]bool{"BodyGunzip": true, "BodyInflate": true, "BodyUnbrotli": true, "BodyUncompressed": true, "MultipartForm": true}
)

// The behavioural tests (app: TestEncodedBodiesAreRefusedOnEveryRouteBeforeDecoding)
// send gzip bombs to every route. This guard keeps the second line: no code
// of the gateway calls a method that decompresses a request body, so a
// handler added behind a future change of the middleware still cannot. The
// body is read through requestBody only.
func TestNoGatewayCodeCallsADecodingBodyReader(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	scanned := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		scanned++
		ctxNames := fiberCtxNames(f)
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			onCtx := false
			if id, ok := sel.X.(*ast.Ident); ok {
				onCtx = ctxNames[id.Name]
			}
			if onCtx && ctxDecoding[sel.Sel.Name] || !onCtx && requestDecoding[sel.Sel.Name] {
				t.Errorf("%s: %s decodes the body by its Content-Encoding; use requestBody or decodeJSON", fset.Position(call.Pos()), sel.Sel.Name)
			}
			return true
		})
	}
	if scanned < 10 {
		t.Fatalf("scanned %d files; run from the gateway directory", scanned)
	}
}

// fiberCtxNames returns the names declared with type *fiber.Ctx in f
// (handler parameters, mostly "c").
func fiberCtxNames(f *ast.File) map[string]bool {
	names := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		field, ok := n.(*ast.Field)
		if !ok {
			return true
		}
		star, ok := field.Type.(*ast.StarExpr)
		if !ok {
			return true
		}
		if sel, ok := star.X.(*ast.SelectorExpr); ok && sel.Sel.Name == "Ctx" {
			if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "fiber" {
				for _, id := range field.Names {
					names[id.Name] = true
				}
			}
		}
		return true
	})
	return names
}

// FuzzInvalidUTF8At: the offset it reports is where valid UTF-8 stops.
func FuzzInvalidUTF8At(f *testing.F) {
	for _, s := range []string{"", "abc", "a\xffb", "\xed\xa0\x80", "Zoë 東京 🚀\xc0\xaf", "\xf0\x9f\x9a"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		at := invalidUTF8At(b)
		if at < 0 {
			if !utf8.Valid(b) {
				t.Fatalf("%q: -1 for invalid UTF-8", b)
			}
			return
		}
		if !utf8.Valid(b[:at]) {
			t.Fatalf("%q: offset %d is not the first invalid byte", b, at)
		}
		if r, size := utf8.DecodeRune(b[at:]); r != utf8.RuneError || size != 1 {
			t.Fatalf("%q: offset %d starts a valid rune", b, at)
		}
	})
}
