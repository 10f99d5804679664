package hookgate_test

import (
	"os"
	"strings"
	"testing"
)

// README's Layout table names every top-level folder and every package
// under internal/, so a folder added or renamed without a word there fails.
func TestReadmeLayoutNamesEveryFolder(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, layout, ok := strings.Cut(string(readme), "\n## Layout\n")
	if !ok {
		t.Fatal("README.md has no Layout section")
	}
	layout, _, _ = strings.Cut(layout, "\n## ")
	// The table's rows only: a folder named in passing does not count.
	var rows strings.Builder
	for _, line := range strings.Split(layout, "\n") {
		if strings.HasPrefix(line, "| `") {
			rows.WriteString(line + "\n")
		}
	}
	layout = rows.String()
	check := func(dir, want string) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			name := e.Name()
			if !e.IsDir() || strings.HasPrefix(name, ".") || name == "bin" || name == "node_modules" {
				continue
			}
			if !strings.Contains(layout, strings.ReplaceAll(want, "NAME", name)) {
				t.Errorf("README's Layout does not name %s/%s", dir, name)
			}
		}
	}
	check(".", "`NAME/")
	check("internal", "`NAME`")
}
