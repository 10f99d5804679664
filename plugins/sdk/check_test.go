package sdk_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/plugins/sdk"
)

type base struct{}

func (base) Info() sdk.Info { return sdk.Info{Name: "x", Version: "1"} }
func (base) Outgoing(context.Context, sdk.Outgoing) (sdk.Result, error) {
	return sdk.Result{}, nil
}

type rightIncoming struct{ base }

func (rightIncoming) Incoming(context.Context, sdk.Incoming) (sdk.IncomingResult, error) {
	return sdk.IncomingResult{}, nil
}

type wrongIncoming struct{ base }

// Incoming takes the request by pointer: not IncomingPlugin's method.
func (wrongIncoming) Incoming(context.Context, *sdk.Incoming) (sdk.IncomingResult, error) {
	return sdk.IncomingResult{}, nil
}

type pointerIncoming struct{ base }

func (*pointerIncoming) Incoming(context.Context, sdk.Incoming) (sdk.IncomingResult, error) {
	return sdk.IncomingResult{}, nil
}

func TestCheckRefusesAnIncomingMethodHookgateCannotCall(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    sdk.Plugin
		want string // "" = accepted
	}{
		{"outgoing only", base{}, ""},
		{"right signature", rightIncoming{}, ""},
		{"pointer receiver, pointer given", &pointerIncoming{}, ""},
		{"wrong signature", wrongIncoming{}, "Incoming(context.Context, *sdk.Incoming) (sdk.IncomingResult, error)"},
		{"pointer receiver, value given", pointerIncoming{}, "pass a pointer"},
	} {
		err := sdk.Check(tc.p)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: Check = %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}

// A plugin binary whose Incoming has the wrong signature does not start:
// Serve says why on stderr and exits 1, before any handshake.
func TestServeRefusesToStartWithAWrongIncomingSignature(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped under -short: builds and runs a plugin")
	}
	bin := filepath.Join(t.TempDir(), "badincoming")
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/badincoming").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "HOOKGATE_PLUGIN=7c1f0b5e-hookgate-plugin-v1")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1", err)
	}
	if stdout.Len() != 0 {
		t.Fatalf("it printed a handshake: %q", stdout.String())
	}
	if !strings.Contains(stderr.String(), "Incoming(context.Context, map[string]string) (sdk.IncomingResult, error)") ||
		!strings.Contains(stderr.String(), "must be Incoming(context.Context, sdk.Incoming)") {
		t.Fatalf("stderr does not say what is wrong: %s", stderr.String())
	}
}
