package proto

import (
	"testing"

	"google.golang.org/protobuf/types/descriptorpb"
)

// TestDescriptorNamesThisPackage: the generated descriptor loads and names
// the SDK module's import path (plugin.proto's go_package).
func TestDescriptorNamesThisPackage(t *testing.T) {
	const want = "github.com/hookgate/hookgate/plugins/sdk/proto"
	if got := File_plugin_proto.Options().(*descriptorpb.FileOptions).GetGoPackage(); got != want {
		t.Fatalf("go_package %q, want %q", got, want)
	}
	if File_plugin_proto.Services().ByName("Plugin") == nil {
		t.Fatal("no Plugin service in the descriptor")
	}
}
