package gateway

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The gateway speaks to the domain through the root package's types and
// ports only: it must not reach into a service's package or the Redis
// package, so that handlers cannot depend on how a service is built and a
// service can change its insides without touching the HTTP layer. Of
// hookgate's own packages, the gateway's code imports the root, config and
// console; anything else it needs is declared in the root.
func TestGatewayImportsOnlyTheRootConfigAndConsole(t *testing.T) {
	const module = "github.com/hookgate/hookgate"
	allowed := map[string]bool{module: true, module + "/config": true, module + "/console": true}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if (path == module || strings.HasPrefix(path, module+"/")) && !allowed[path] {
				t.Errorf("%s imports %s: declare what the gateway needs of it in the root package", name, path)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no gateway source file found")
	}
}
