package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hookgate/hookgate/internal/scaffold"
	"github.com/hookgate/hookgate/plugins/sdk"
)

// pluginCmd is `hookgate plugin new NAME`: write a plugin repository.
func pluginCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("plugin")
	dir := fs.String("dir", "", "directory to create (default ./NAME)")
	module := fs.String("module", "", "Go module path of the new repository (default NAME)")
	sdkDir := fs.String("sdk", "", "hookgate checkout's plugins/sdk for go.mod's replace (default: found from the working directory or this executable)")
	tidy := fs.Bool("tidy", true, "run 'go mod tidy' in the new repository (writes go.sum)")
	if len(args) == 0 || args[0] != "new" {
		if err := parseFlags(fs, args, stdout); err != nil {
			return err
		}
		return usageError{"plugin: the subcommand is new: hookgate plugin new NAME\n\n" + commandHelp(fs)}
	}
	// NAME may come before or after the flags.
	var name string
	rest := args[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		name, rest = rest[0], rest[1:]
	}
	if err := parseFlags(fs, rest, stdout); err != nil {
		return err
	}
	if name == "" && fs.NArg() == 1 {
		name = fs.Arg(0)
	} else if fs.NArg() > 0 || name == "" {
		return usageError{"plugin new: give exactly one plugin name: hookgate plugin new NAME\n\n" + commandHelp(fs)}
	}
	if err := scaffold.CheckName(name); err != nil {
		return usageError{"plugin new: " + err.Error()}
	}
	if *dir == "" {
		*dir = name
	}
	if *module == "" {
		*module = name
	}
	if *sdkDir == "" {
		found, ok := findSDK()
		if !ok {
			return fmt.Errorf("plugin new: the plugin SDK (%s) is not published yet and no hookgate checkout was found "+
				"from here: pass --sdk /path/to/hookgate/plugins/sdk", scaffold.SDKModule)
		}
		*sdkDir = found
	} else {
		abs, err := filepath.Abs(*sdkDir)
		if err != nil {
			return err
		}
		if !scaffold.IsSDK(abs) {
			return fmt.Errorf("plugin new: --sdk %s holds no go.mod of %s", *sdkDir, scaffold.SDKModule)
		}
		*sdkDir = abs
	}
	files, err := scaffold.Write(scaffold.Options{Name: name, Dir: *dir, Module: *module, SDKVersion: sdk.Version, SDKDir: *sdkDir})
	if err != nil {
		return fmt.Errorf("plugin new: %w", err)
	}
	fmt.Fprintf(stdout, "wrote plugin %s in %s:\n", name, *dir)
	for _, f := range files {
		fmt.Fprintf(stdout, "  %s\n", f)
	}
	if *tidy {
		if err := goModTidy(*dir); err != nil {
			fmt.Fprintf(stderr, "go mod tidy did not complete (%v): run it in %s before building\n", err, *dir)
		}
	}
	fmt.Fprintf(stdout, "\nnext:\n  cd %s\n  make test     # builds the plugin and runs its golden test\n  make build    # bin/%s\n", *dir, name)
	return nil
}

// findSDK looks for the SDK of a hookgate checkout from the working
// directory, then from this executable (bin/hookgate of a checkout).
func findSDK() (string, bool) {
	if wd, err := os.Getwd(); err == nil {
		if d, ok := scaffold.FindSDK(wd); ok {
			return d, true
		}
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			return scaffold.FindSDK(filepath.Dir(exe))
		}
	}
	return "", false
}

func goModTidy(dir string) error {
	if _, err := exec.LookPath("go"); err != nil {
		return errors.New("go is not on PATH")
	}
	cmd := exec.Command("go", "mod", "tidy")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(out.String()))
	}
	return nil
}
