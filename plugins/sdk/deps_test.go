package sdk_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestSDKStaysSmall: a plugin that requires the SDK gets go-plugin, gRPC
// and protobuf, and nothing of the gateway; and the module asks for an old
// enough Go that plugin authors need not upgrade to hookgate's.
func TestSDKStaysSmall(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test", "./...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		gateway := strings.HasPrefix(pkg, "github.com/hookgate/hookgate") &&
			!strings.HasPrefix(pkg, "github.com/hookgate/hookgate/plugins/sdk")
		if gateway || strings.Contains(pkg, "prometheus") || strings.Contains(pkg, "gofiber") ||
			strings.Contains(pkg, "asynq") || strings.Contains(pkg, "go-redis") {
			t.Errorf("the SDK module depends on %s", pkg)
		}
	}
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mod), "\ngo 1.24\n") {
		t.Errorf("go.mod's go directive is not 1.24 (docs/plugins.md says so):\n%s", mod)
	}
}
