package main

// The doc tests: README.md and the walk-throughs in docs/ are run as written
// against the real binary, and each answer is compared with the one the page
// shows.
//
// How a page marks what runs:
//
//   - A fenced block whose info string is `sh run` is executed by bash in a
//     directory holding bin/hookgate (this command, freshly built),
//     bin/plugins (the built-in plugins, built for the test) and config.yaml (the
//     repository's, on free ports and a Redis key prefix of its own), with
//     `hookgate serve --dev --config config.yaml` already running, as
//     `make run` starts it. Blocks of one page share shell variables
//     (TOKEN=..., WH=...) in page order. localhost:8080, port 9000 (the
//     receiver) and port 9100 (the stand-in CRM) are mapped to free ports.
//   - `sh run background` starts the block (a receiver, the stand-in CRM:
//     "terminal 2") and waits until the ports it names accept connections;
//     it is stopped when the page ends.
//   - `sh run retry` re-runs the block (for 15 seconds at most) until its
//     answers match and none has an empty "data" list: for reads of
//     something that happens a moment later, such as a delivery.
//   - The next fenced block after an `sh run` block, when it is `http`, is
//     its answers: for each curl the block runs, in order, a status line
//     (`HTTP/1.1 201 Created`), a blank line and the body.
//
// An answer is compared in shape: the status code must be the same; every
// field the page shows must still be there with a value of the same JSON
// type (null matches any type), objects may have fields the page does not
// show (new fields do not break the docs), arrays are compared item by item
// as far as the page shows them, a key that is an id (ep_...) matches any id
// key, and an error's "code" must be the same string. Values otherwise may differ (ids, times).
//
// Re-recording: when an answer changes on purpose (a new field, a new
// route), record the real answers into the pages and review the diff:
//
//	HOOKGATE_DOCS_CAPTURE=1 go test ./cmd/hookgate -run TestDocs
//
// Capture rewrites (or inserts) the `http` block after every `sh run` block
// that ran curl, with the answers indented, arrays cut to their first two
// items and the free ports mapped back to 8080, 9000 and 9100. Needs Redis
// (REDIS_ADDR, default 127.0.0.1:6379), bash, curl and jq.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"gopkg.in/yaml.v3"

	"github.com/hookgate/hookgate/internal/testenv"
)

// docPages are the pages whose `sh run` blocks TestDocs runs, from this
// package's directory.
var docPages = []string{"../../README.md", "../../docs/api.md", "../../docs/incoming.md"}

func TestDocs(t *testing.T) {
	testenv.SkipShort(t, "doc tests start the real binary")
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the doc tests need %s (the pages' commands use it): %v", tool, err)
		}
	}
	capture := os.Getenv("HOOKGATE_DOCS_CAPTURE") == "1"
	var calls []docAnswer
	ran := 0
	for _, page := range docPages {
		t.Run(filepath.Base(page), func(t *testing.T) {
			calls = append(calls, runDocPage(t, page, capture)...)
			ran++
		})
	}
	if ran == len(docPages) && !t.Failed() {
		checkEveryRouteIsShown(t, calls)
	}
}

// routesShownElsewhere are the documented routes the pages do not call with
// curl, and why.
var routesShownElsewhere = map[string]string{
	"GET /metrics": "Prometheus text, not JSON; docs/delivery.md lists the metrics",
}

// checkEveryRouteIsShown fails for each operation of gateway/openapi.yaml
// that no page runs.
func checkEveryRouteIsShown(t *testing.T, calls []docAnswer) {
	raw, err := os.ReadFile("../../gateway/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var missing []string
	for path, item := range doc.Paths {
		for method := range item {
			m := strings.ToUpper(method)
			if !slices.Contains([]string{"GET", "POST", "PUT", "PATCH", "DELETE"}, m) {
				continue
			}
			route := m + " " + path
			if _, ok := routesShownElsewhere[route]; ok {
				continue
			}
			shown := slices.ContainsFunc(calls, func(c docAnswer) bool {
				return (c.method == m || path == "/in/{token}/{path}") && routeMatches(path, c.path)
			})
			if !shown {
				missing = append(missing, route)
			}
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("no page runs these routes of gateway/openapi.yaml (add a `sh run` block to docs/api.md or docs/incoming.md):\n  %s",
			strings.Join(missing, "\n  "))
	}
}

// routeMatches reports whether a request path fits an OpenAPI path
// template; a last {path} parameter takes the rest.
func routeMatches(template, path string) bool {
	ts := strings.Split(strings.Trim(template, "/"), "/")
	ps := strings.Split(strings.Trim(path, "/"), "/")
	for i, seg := range ts {
		if i >= len(ps) {
			return false
		}
		if strings.HasPrefix(seg, "{") {
			if ps[i] == "" {
				return false
			}
			if seg == "{path}" && i == len(ts)-1 {
				return true
			}
			continue
		}
		if seg != ps[i] {
			return false
		}
	}
	return len(ts) == len(ps)
}

// mdBlock is one fenced block of a page: the lines of its fences (start,
// end) and the text between them.
type mdBlock struct {
	info       string
	start, end int
	body       string
}

func parseBlocks(lines []string) []mdBlock {
	var blocks []mdBlock
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if !strings.HasPrefix(l, "```") {
			continue
		}
		b := mdBlock{info: strings.TrimSpace(strings.TrimPrefix(l, "```")), start: i, end: -1}
		for j := i + 1; j < len(lines); j++ {
			if strings.TrimSpace(lines[j]) == "```" {
				b.end = j
				break
			}
		}
		if b.end < 0 {
			break
		}
		b.body = strings.Join(lines[i+1:b.end], "\n")
		blocks = append(blocks, b)
		i = b.end
	}
	return blocks
}

// docAnswer is one HTTP answer: status code and line, and body.
type docAnswer struct {
	code   int
	status string
	body   string
	// method and path of the curl that got it (not recorded in the page)
	method, path string
}

// curlRoute reads the method and the URL's path from curl's arguments.
func curlRoute(args []string) (method, path string) {
	data := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-X" || a == "--request":
			if i+1 < len(args) {
				method = args[i+1]
				i++
			}
		case a == "-d" || a == "--data" || a == "--data-binary" || a == "--data-raw":
			data = true
			i++
		case a == "-H" || a == "-o" || a == "-w" || a == "-D":
			i++
		case strings.HasPrefix(a, "-"):
		default:
			u := a
			if i := strings.Index(u, "://"); i >= 0 {
				u = u[i+3:]
			}
			if i := strings.IndexByte(u, '/'); i >= 0 {
				path = u[i:]
			} else {
				path = "/"
			}
			if i := strings.IndexByte(path, '?'); i >= 0 {
				path = path[:i]
			}
		}
	}
	if method == "" {
		method = "GET"
		if data {
			method = "POST"
		}
	}
	return method, path
}

var statusLine = regexp.MustCompile(`^HTTP/[0-9.]+ ([0-9]{3})(.*)$`)

// parseAnswers reads an `http` block: answers separated by their status
// lines.
func parseAnswers(text string) ([]docAnswer, error) {
	var out []docAnswer
	for _, l := range strings.Split(text, "\n") {
		if m := statusLine.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			code, _ := strconv.Atoi(m[1])
			out = append(out, docAnswer{code: code, status: strings.TrimSpace(l)})
			continue
		}
		if len(out) == 0 {
			if strings.TrimSpace(l) != "" {
				return nil, fmt.Errorf("an http block starts with a status line such as HTTP/1.1 200 OK, not %q", l)
			}
			continue
		}
		out[len(out)-1].body += l + "\n"
	}
	for i := range out {
		out[i].body = strings.TrimSpace(out[i].body)
	}
	return out, nil
}

// docEnv is one page's world: the directory, the server and the processes
// its blocks started.
type docEnv struct {
	t       *testing.T
	dir     string
	outDir  string
	ports   map[string]string // documented port -> real one
	env     []string
	pgids   []int
	curlBin string
}

var (
	pluginsOnce  sync.Once
	pluginsDir   string
	pluginsBuild error
)

// docPlugins builds the built-in plugins (as `make plugins` does) once per
// test run, so the pages' answers do not depend on a stale bin/plugins.
func docPlugins(t *testing.T) string {
	t.Helper()
	pluginsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hookgate-doc-plugins")
		if err != nil {
			pluginsBuild = err
			return
		}
		pluginsDir = dir
		for _, name := range []string{"cloudcx", "ucrm", "uspacy"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), "../../plugins/"+name)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				pluginsBuild = fmt.Errorf("build plugin %s: %v\n%s", name, err, out)
				return
			}
		}
	})
	if pluginsBuild != nil {
		t.Fatal(pluginsBuild)
	}
	return pluginsDir
}

func freePort(t *testing.T) string { return strconv.Itoa(testenv.FreePort(t)) }

func newDocEnv(t *testing.T) *docEnv {
	bin := hookgateBinary(t)
	e := &docEnv{t: t, dir: t.TempDir(), ports: map[string]string{
		"8080": freePort(t), "9000": freePort(t), "9001": freePort(t), "9100": freePort(t)}}
	e.outDir = filepath.Join(e.dir, ".answers")
	toolDir := filepath.Join(e.dir, ".tools")
	for _, d := range []string{e.outDir, toolDir, filepath.Join(e.dir, "bin")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(bin, filepath.Join(e.dir, "bin", "hookgate")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(docPlugins(t), filepath.Join(e.dir, "bin", "plugins")); err != nil {
		t.Fatal(err)
	}

	redisAddr := testenv.RedisAddr()
	prefix := testenv.Prefix("hgdocs")
	raw, err := os.ReadFile("../../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(raw)
	for _, r := range [][2]string{
		{`listen: ":8080"`, `listen: "127.0.0.1:` + e.ports["8080"] + `"`},
		{`public_url: "http://localhost:8080"`, `public_url: "http://localhost:` + e.ports["8080"] + `"`},
		{`addr: "127.0.0.1:6379"`, `addr: "` + redisAddr + `"`},
		{`prefix: hookgate`, `prefix: ` + prefix},
		{`"http://127.0.0.1:9100"`, `"http://127.0.0.1:` + e.ports["9100"] + `"`},
	} {
		if !strings.Contains(cfg, r[0]) {
			t.Fatalf("config.yaml no longer has %s; update the doc tests' copy of it", r[0])
		}
		cfg = strings.ReplaceAll(cfg, r[0], r[1])
	}
	if err := os.WriteFile(filepath.Join(e.dir, "config.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cleanRedisPrefix(redisAddr, prefix) })

	// curl as the pages call it, keeping each answer's headers and body.
	e.curlBin, err = exec.LookPath("curl")
	if err != nil {
		t.Fatal(err)
	}
	wrapper := `#!/bin/sh
d="$HOOKGATE_DOCS_OUT"
n=$(cat "$d/n" 2>/dev/null || echo 0); n=$((n+1)); echo "$n" > "$d/n"
printf '%s\0' "$@" > "$d/$n.args"
"$HOOKGATE_DOCS_CURL" -D "$d/$n.h" "$@" | tee "$d/$n.b"
`
	if err := os.WriteFile(filepath.Join(toolDir, "curl"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	e.env = []string{
		"PATH=" + toolDir + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + e.dir,
		"HOOKGATE_DOCS_OUT=" + e.outDir,
		"HOOKGATE_DOCS_CURL=" + e.curlBin,
	}
	t.Cleanup(e.stopAll)

	// make run
	log, err := os.Create(filepath.Join(e.dir, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	serve := exec.Command(filepath.Join(e.dir, "bin", "hookgate"), "serve", "--dev", "--config", "config.yaml")
	serve.Dir, serve.Env, serve.Stdout, serve.Stderr = e.dir, e.env, log, log
	serve.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	e.pgids = append(e.pgids, serve.Process.Pid)
	exited := make(chan struct{})
	go func() { _ = serve.Wait(); close(exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://127.0.0.1:" + e.ports["8080"] + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(log.Name())
			t.Fatalf("hookgate serve --dev ended before it was ready:\n%s", b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("hookgate serve --dev did not become ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return e
}

func cleanRedisPrefix(addr, prefix string) {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	_ = testenv.DeleteDeployment(context.Background(), rdb, prefix, prefix)
}

// stopAll stops every process group the page started: SIGTERM, then
// SIGKILL for what is left.
func (e *docEnv) stopAll() {
	for _, pg := range e.pgids {
		_ = syscall.Kill(-pg, syscall.SIGTERM)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, pg := range e.pgids {
		for syscall.Kill(-pg, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		_ = syscall.Kill(-pg, syscall.SIGKILL)
	}
}

// jwtLike matches a token in an answer; pages show it cut short.
var jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)

var documentedPort = regexp.MustCompile(`\b(8080|9000|9001|9100)\b`)

// mapPorts puts the real ports into a block's text.
func (e *docEnv) mapPorts(s string) string {
	return documentedPort.ReplaceAllStringFunc(s, func(p string) string { return e.ports[p] })
}

// unmapPorts puts the documented ports back into a recorded answer.
func (e *docEnv) unmapPorts(s string) string {
	for doc, real := range e.ports {
		s = regexp.MustCompile(`\b`+real+`\b`).ReplaceAllString(s, doc)
	}
	return s
}

const shellPrologue = `set -e
__HG_BASE=" __HG_BASE __v _ $(compgen -v | tr '\n' ' ') "
if [ -f .state ]; then . ./.state; fi
`

const shellEpilogue = `
for __v in $(compgen -v); do case "$__HG_BASE" in *" $__v "*) ;; *) declare -p "$__v" ;; esac; done > .state.new 2>/dev/null
mv .state.new .state
`

// runBlock runs one block and returns the answers of the curls it ran.
func (e *docEnv) runBlock(b mdBlock, background bool) ([]docAnswer, string, error) {
	entries, _ := os.ReadDir(e.outDir)
	for _, en := range entries {
		os.Remove(filepath.Join(e.outDir, en.Name()))
	}
	script := e.mapPorts(b.body)
	if !background {
		script = shellPrologue + script + shellEpilogue
	} else {
		script = "if [ -f .state ]; then . ./.state; fi\n" + script
	}
	out, err := os.CreateTemp(e.dir, "block-*.out")
	if err != nil {
		return nil, "", err
	}
	defer out.Close()
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = e.dir, e.env, out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	e.pgids = append(e.pgids, cmd.Process.Pid)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	output := func() string { b, _ := os.ReadFile(out.Name()); return string(b) }

	if background {
		// Wait for the ports the block names to accept connections.
		var ports []string
		for _, p := range documentedPort.FindAllString(b.body, -1) {
			if p != "8080" && !slices.Contains(ports, p) {
				ports = append(ports, p)
			}
		}
		deadline := time.Now().Add(20 * time.Second)
		for _, p := range ports {
			for {
				c, err := net.DialTimeout("tcp", "127.0.0.1:"+e.ports[p], time.Second)
				if err == nil {
					c.Close()
					break
				}
				select {
				case err := <-done:
					return nil, output(), fmt.Errorf("the background block ended (%v) before port %s listened", err, p)
				default:
				}
				if time.Now().After(deadline) {
					return nil, output(), fmt.Errorf("port %s did not listen", p)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		return nil, output(), nil
	}

	select {
	case err := <-done:
		if err != nil {
			return nil, output(), fmt.Errorf("the block failed: %v", err)
		}
	case <-time.After(60 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		return nil, output(), fmt.Errorf("the block did not finish within a minute")
	}

	var answers []docAnswer
	for i := 1; ; i++ {
		h, err := os.ReadFile(filepath.Join(e.outDir, fmt.Sprintf("%d.h", i)))
		if err != nil {
			break
		}
		body, _ := os.ReadFile(filepath.Join(e.outDir, fmt.Sprintf("%d.b", i)))
		var a docAnswer
		for _, l := range strings.Split(string(h), "\n") {
			if m := statusLine.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
				a.code, _ = strconv.Atoi(m[1])
				a.status = strings.TrimSpace(l)
			}
		}
		if a.code == 0 {
			return nil, output(), fmt.Errorf("curl #%d got no answer", i)
		}
		a.body = strings.TrimSpace(string(body))
		args, _ := os.ReadFile(filepath.Join(e.outDir, fmt.Sprintf("%d.args", i)))
		a.method, a.path = curlRoute(strings.Split(strings.TrimSuffix(string(args), "\x00"), "\x00"))
		answers = append(answers, a)
	}
	return answers, output(), nil
}

func runDocPage(t *testing.T, page string, capture bool) []docAnswer {
	raw, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	blocks := parseBlocks(lines)
	var runs int
	for _, b := range blocks {
		if strings.HasPrefix(b.info, "sh run") {
			runs++
		}
	}
	if runs == 0 {
		t.Fatalf("%s has no `sh run` block", page)
	}
	e := newDocEnv(t)
	var calls []docAnswer

	type edit struct {
		from, to int // replace lines[from:to]
		text     []string
	}
	var edits []edit
	for i, b := range blocks {
		words := strings.Fields(b.info)
		if len(words) < 2 || words[0] != "sh" || words[1] != "run" {
			continue
		}
		background := slices.Contains(words, "background")
		retry := slices.Contains(words, "retry")
		var want *mdBlock
		if i+1 < len(blocks) && blocks[i+1].info == "http" {
			want = &blocks[i+1]
		}
		where := fmt.Sprintf("%s:%d", filepath.Base(page), b.start+1)

		var wantAnswers []docAnswer
		if want != nil {
			if wantAnswers, err = parseAnswers(want.body); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
		}
		deadline := time.Now().Add(15 * time.Second)
		var got []docAnswer
		var problems []string
		for {
			var out string
			got, out, err = e.runBlock(b, background)
			if err != nil {
				t.Fatalf("%s: %v\n--- block\n%s\n--- output\n%s", where, err, b.body, out)
			}
			calls = append(calls, got...)
			if !capture && want != nil {
				problems = compareAnswers(wantAnswers, got)
			}
			if !retry || len(problems) == 0 && !emptyData(got) || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		switch {
		case capture && len(got) > 0:
			text := []string{"```http"}
			text = append(text, strings.Split(jwtLike.ReplaceAllString(e.unmapPorts(formatAnswers(got)), "eyJ..."), "\n")...)
			text = append(text, "```")
			if want != nil {
				edits = append(edits, edit{want.start, want.end + 1, text})
			} else {
				edits = append(edits, edit{b.end + 1, b.end + 1, append([]string{""}, text...)})
			}
		case want != nil && len(problems) > 0:
			t.Errorf("%s: the answers differ from the page (re-record with HOOKGATE_DOCS_CAPTURE=1 go test ./cmd/hookgate -run TestDocs if the change is meant):\n  %s\n--- got\n%s",
				where, strings.Join(problems, "\n  "), formatAnswers(got))
		}
	}
	if capture && len(edits) > 0 {
		for i := len(edits) - 1; i >= 0; i-- {
			ed := edits[i]
			lines = append(lines[:ed.from], append(ed.text, lines[ed.to:]...)...)
		}
		if err := os.WriteFile(page, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("recorded %d answer blocks into %s", len(edits), page)
	}
	return calls
}

// emptyData reports whether an answer is a list whose "data" is empty.
func emptyData(answers []docAnswer) bool {
	for _, a := range answers {
		var v struct {
			Data *[]json.RawMessage `json:"data"`
		}
		if json.Unmarshal([]byte(a.body), &v) == nil && v.Data != nil && len(*v.Data) == 0 {
			return true
		}
	}
	return false
}

// compareAnswers lists how got differs in shape from want.
func compareAnswers(want, got []docAnswer) []string {
	var problems []string
	if len(want) != len(got) {
		return []string{fmt.Sprintf("the page shows %d answers, the commands got %d", len(want), len(got))}
	}
	for i := range want {
		w, g := want[i], got[i]
		if w.code != g.code {
			problems = append(problems, fmt.Sprintf("answer %d: status %d, the page shows %d", i+1, g.code, w.code))
			continue
		}
		if w.body == "" {
			continue
		}
		var wv, gv any
		if err := json.Unmarshal([]byte(w.body), &wv); err != nil {
			if strings.TrimSpace(g.body) != w.body {
				problems = append(problems, fmt.Sprintf("answer %d: body %q, the page shows %q", i+1, g.body, w.body))
			}
			continue
		}
		if err := json.Unmarshal([]byte(g.body), &gv); err != nil {
			problems = append(problems, fmt.Sprintf("answer %d: the body is not JSON: %s", i+1, g.body))
			continue
		}
		shapeDiff(fmt.Sprintf("answer %d: ", i+1), wv, gv, &problems)
	}
	return problems
}

// shapeDiff appends to problems where got lacks something of want's shape:
// a field removed or renamed, a value of another JSON type, an array now
// empty, another error code. Fields want does not show are ignored.
func shapeDiff(path string, want, got any, problems *[]string) {
	if want == nil || got == nil {
		return
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*problems = append(*problems, fmt.Sprintf("%s is %s, the page shows an object", strings.TrimSuffix(path, ": "), jsonType(got)))
			return
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			p := path + "." + k
			if strings.HasSuffix(path, ": ") {
				p = path + k
			}
			gv, ok := g[k]
			if !ok && idKey.MatchString(k) {
				// A map keyed by ids (endpoints by their id): any id key
				// of the answer stands for the page's.
				for gk, v := range g {
					if idKey.MatchString(gk) {
						gv, ok = v, true
						break
					}
				}
			}
			if !ok {
				*problems = append(*problems, fmt.Sprintf("%s is missing (removed or renamed?)", p))
				continue
			}
			if k == "code" {
				if ws, ok := w[k].(string); ok {
					if gs, _ := gv.(string); gs != ws {
						*problems = append(*problems, fmt.Sprintf("%s is %v, the page shows %q", p, gv, ws))
					}
					continue
				}
			}
			shapeDiff(p, w[k], gv, problems)
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			*problems = append(*problems, fmt.Sprintf("%s is %s, the page shows an array", path, jsonType(got)))
			return
		}
		if len(w) > 0 && len(g) == 0 {
			*problems = append(*problems, fmt.Sprintf("%s is empty, the page shows %d items", path, len(w)))
		}
		for i := 0; i < len(w) && i < len(g); i++ {
			shapeDiff(fmt.Sprintf("%s[%d]", strings.TrimSuffix(path, ": "), i), w[i], g[i], problems)
		}
	default:
		if jsonType(want) != jsonType(got) {
			*problems = append(*problems, fmt.Sprintf("%s is %s, the page shows %s", strings.TrimSuffix(path, ": "), jsonType(got), jsonType(want)))
		}
	}
}

// idKey matches an object key that is a record's id (ep_..., wh_...).
var idKey = regexp.MustCompile(`^[a-z]{2,4}_[0-9a-z]{20,}$`)

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// formatAnswers renders answers as an `http` block's text.
func formatAnswers(answers []docAnswer) string {
	var parts []string
	for _, a := range answers {
		s := a.status
		if a.body != "" {
			s += "\n\n" + formatJSON(a.body)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "\n\n")
}

// formatJSON indents a JSON body keeping its key order, with arrays of
// scalars on one line and other arrays cut to their first two items; a body
// that is not JSON is returned as it is.
func formatJSON(body string) string {
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	var buf bytes.Buffer
	if err := writeJSON(&buf, dec, ""); err != nil {
		return body
	}
	return buf.String()
}

func writeJSON(buf *bytes.Buffer, dec *json.Decoder, indent string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch d := tok.(type) {
	case json.Delim:
		switch d {
		case '{':
			if !dec.More() {
				_, _ = dec.Token()
				buf.WriteString("{}")
				return nil
			}
			buf.WriteString("{\n")
			first := true
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				if !first {
					buf.WriteString(",\n")
				}
				first = false
				kb, _ := json.Marshal(k)
				buf.WriteString(indent + "  " + string(kb) + ": ")
				if err := writeJSON(buf, dec, indent+"  "); err != nil {
					return err
				}
			}
			_, _ = dec.Token()
			buf.WriteString("\n" + indent + "}")
		case '[':
			var items []string
			scalars := true
			for dec.More() {
				var sub bytes.Buffer
				if err := writeJSON(&sub, dec, indent+"  "); err != nil {
					return err
				}
				s := sub.String()
				if strings.HasPrefix(s, "{") && s != "{}" || strings.HasPrefix(s, "[") && strings.Contains(s, "\n") {
					scalars = false
				}
				items = append(items, s)
			}
			_, _ = dec.Token()
			switch {
			case len(items) == 0:
				buf.WriteString("[]")
			case scalars:
				buf.WriteString("[" + strings.Join(items, ", ") + "]")
			default:
				if len(items) > 2 {
					items = items[:2]
				}
				buf.WriteString("[\n" + indent + "  " + strings.Join(items, ",\n"+indent+"  ") + "\n" + indent + "]")
			}
		}
	default:
		b, _ := json.Marshal(d)
		buf.Write(b)
	}
	return nil
}

// TestDocShapeComparison checks the comparison itself: added fields pass;
// a removed or renamed field, a changed type, an emptied array, another
// error code and another status fail.
func TestDocShapeComparison(t *testing.T) {
	want := []docAnswer{{code: 201, body: `{"id":"wh_1","endpoints":[{"url":"u"}],"error":{"code":"validation_failed"},"last":null,"n":1}`}}
	for _, c := range []struct {
		name, body string
		code       int
		ok         bool
	}{
		{"same", `{"id":"wh_2","endpoints":[{"url":"v"}],"error":{"code":"validation_failed"},"last":null,"n":2}`, 201, true},
		{"added fields", `{"id":"wh_2","new":true,"endpoints":[{"url":"v","more":1},{"url":"w"}],"error":{"code":"validation_failed","x":1},"last":"2026","n":2}`, 201, true},
		{"removed field", `{"endpoints":[{"url":"v"}],"error":{"code":"validation_failed"},"last":null,"n":2}`, 201, false},
		{"renamed nested", `{"id":"wh_2","endpoints":[{"href":"v"}],"error":{"code":"validation_failed"},"last":null,"n":2}`, 201, false},
		{"changed type", `{"id":"wh_2","endpoints":[{"url":"v"}],"error":{"code":"validation_failed"},"last":null,"n":"2"}`, 201, false},
		{"emptied array", `{"id":"wh_2","endpoints":[],"error":{"code":"validation_failed"},"last":null,"n":2}`, 201, false},
		{"other code", `{"id":"wh_2","endpoints":[{"url":"v"}],"error":{"code":"invalid"},"last":null,"n":2}`, 201, false},
		{"other status", `{"id":"wh_2","endpoints":[{"url":"v"}],"error":{"code":"validation_failed"},"last":null,"n":2}`, 200, false},
	} {
		problems := compareAnswers(want, []docAnswer{{code: c.code, body: c.body}})
		if (len(problems) == 0) != c.ok {
			t.Errorf("%s: problems %q, want ok=%v", c.name, problems, c.ok)
		}
	}
	// A recorded answer parses back to what was recorded.
	got := []docAnswer{{code: 202, status: "HTTP/1.1 202 Accepted", body: `{"id":"evt_1","list":[1,2,3],"objs":[{"a":1},{"a":2},{"a":3}]}`}}
	back, err := parseAnswers(formatAnswers(got))
	if err != nil || len(back) != 1 || back[0].code != 202 {
		t.Fatalf("parse %v %v", back, err)
	}
	if p := compareAnswers(back, got); len(p) != 0 {
		t.Fatalf("a recorded answer does not match itself: %q", p)
	}
	if strings.Count(back[0].body, `"a"`) != 2 {
		t.Fatalf("arrays of objects are recorded with two items: %s", back[0].body)
	}
}
