package scaffold

import (
	"path/filepath"
	"testing"
)

func TestFindSDKFromInsideACheckout(t *testing.T) {
	want, _ := filepath.Abs("../../plugins/sdk")
	got, ok := FindSDK(".")
	if !ok || got != want {
		t.Fatalf("FindSDK = %q, %v; want %q", got, ok, want)
	}
	if _, ok := FindSDK(t.TempDir()); ok {
		t.Fatal("found an SDK outside any checkout")
	}
}

func TestCheckName(t *testing.T) {
	for name, ok := range map[string]bool{"chat": true, "acme-crm2": true, "": false, "Chat": false, "2chat": false, "a/b": false, "a b": false} {
		if (CheckName(name) == nil) != ok {
			t.Errorf("CheckName(%q) = %v", name, CheckName(name))
		}
	}
}
