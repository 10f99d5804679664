package main

import (
	"fmt"
	"strings"
	"testing"

	pb "github.com/hookgate/hookgate/plugins/sdk/proto"
)

// TestVersionPrintsThePluginProtocol: a plugin author compares this with
// the protocol their SDK speaks.
func TestVersionPrintsThePluginProtocol(t *testing.T) {
	stdout, stderr, code := runBinary(t, "", nil, "version")
	want := fmt.Sprintf("plugin protocol %d (plugin SDK v", pb.ProtocolVersion)
	if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "hookgate ") || !strings.Contains(stdout, want) {
		t.Fatalf("exit %d, stderr %q, stdout %q: want %q", code, stderr, stdout, want)
	}
}
