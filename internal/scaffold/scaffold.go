// Package scaffold writes a new plugin repository: `hookgate plugin new`.
// The files are templates under template/ ("gitignore.tmpl" becomes
// ".gitignore"); the repository builds and passes its golden test as
// written.
package scaffold

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
)

// SDKModule is the module path of the plugin SDK.
const SDKModule = "github.com/hookgate/hookgate/plugins/sdk"

//go:embed template
var templates embed.FS

// Options says what to write.
type Options struct {
	// Name of the plugin and of the format it provides.
	Name string
	// Dir is the directory to create (it must not exist or be empty).
	Dir string
	// Module is the Go module path of the new repository.
	Module string
	// SDKVersion is the SDK version go.mod requires.
	SDKVersion string
	// SDKDir, when set, is the SDK checkout go.mod's replace points at.
	SDKDir string
}

var validName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)

// CheckName says why name cannot be a plugin and format name, or nil.
func CheckName(name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("plugin name %q: use 1 to 40 lowercase letters, digits and dashes, starting with a letter", name)
	}
	return nil
}

// Write creates the repository and returns the files it wrote, relative
// to o.Dir.
func Write(o Options) ([]string, error) {
	if err := CheckName(o.Name); err != nil {
		return nil, err
	}
	if o.Module == "" || o.SDKVersion == "" || o.Dir == "" {
		return nil, errors.New("scaffold: Dir, Module and SDKVersion are required")
	}
	if entries, err := os.ReadDir(o.Dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s already exists and is not empty", o.Dir)
	}
	var written []string
	err := fs.WalkDir(templates, "template", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, err := templates.ReadFile(path)
		if err != nil {
			return err
		}
		t, err := template.New(path).Parse(string(src))
		if err != nil {
			return err
		}
		var out bytes.Buffer
		if err := t.Execute(&out, o); err != nil {
			return err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(path, "template/"), ".tmpl")
		if rel == "gitignore" {
			rel = ".gitignore"
		}
		dst := filepath.Join(o.Dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, out.Bytes(), 0o644); err != nil {
			return err
		}
		written = append(written, rel)
		return nil
	})
	return written, err
}

// FindSDK looks for a hookgate checkout's SDK module (plugins/sdk) in dir
// and its parents, and returns its absolute directory.
func FindSDK(dir string) (string, bool) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	for {
		cand := filepath.Join(dir, "plugins", "sdk")
		if IsSDK(cand) {
			return cand, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// IsSDK reports whether dir holds the SDK module's go.mod.
func IsSDK(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if line := strings.TrimSpace(s.Text()); strings.HasPrefix(line, "module ") {
			return strings.TrimSpace(strings.TrimPrefix(line, "module ")) == SDKModule
		}
	}
	return false
}
