package app_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/auth"
)

// shellWords splits one shell command line: words separated by spaces,
// 'single' and "double" quoted parts, $VAR replaced from vars.
func shellWords(line string, vars map[string]string) []string {
	var words []string
	var cur strings.Builder
	in := false
	for i := 0; i < len(line); i++ {
		switch ch := line[i]; {
		case ch == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			in = true
		case ch == '"':
			j := strings.IndexByte(line[i+1:], '"')
			cur.WriteString(expand(line[i+1:i+1+j], vars))
			i += j + 1
			in = true
		case ch == ' ' || ch == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			j := i
			for j < len(line) && !strings.ContainsRune(" \t'\"", rune(line[j])) {
				j++
			}
			cur.WriteString(expand(line[i:j], vars))
			i = j - 1
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}

var shellVar = regexp.MustCompile(`\$([A-Z_]+)`)

func expand(s string, vars map[string]string) string {
	return shellVar.ReplaceAllStringFunc(s, func(m string) string { return vars[m[1:]] })
}

// docCommands returns the command lines of the ```sh blocks of a doc, with
// backslash continuations joined and comments dropped.
func docCommands(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	inBlock := false
	pending := ""
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "```sh"):
			inBlock = true
			continue
		case strings.HasPrefix(line, "```"):
			inBlock = false
			continue
		case !inBlock || strings.HasPrefix(strings.TrimSpace(line), "#"):
			continue
		}
		line = strings.TrimSpace(line)
		if c, ok := strings.CutSuffix(line, "\\"); ok {
			pending += c + " "
			continue
		}
		if strings.Count(pending+line, "'")%2 == 1 { // a quoted body spans lines
			pending += line + " "
			continue
		}
		out = append(out, pending+line)
		pending = ""
	}
	return out
}

// TestAPIDocExamplesWork runs the curl examples of docs/api.md, in order,
// against the real app: the tokens they mint, the bodies they send and the
// statuses they expect, so the newcomer's guide cannot drift from the code.
func TestAPIDocExamplesWork(t *testing.T) {
	h := start(t, nil)
	vars := map[string]string{}
	docID := regexp.MustCompile(`wh_[0-9a-z]{26}`)
	createdID := ""
	ran := map[string]int{}
	for _, cmd := range docCommands(t, "../docs/api.md") {
		if name, rest, ok := strings.Cut(cmd, "=$("); ok && strings.Contains(rest, "hookgate token") {
			// NAME=$(./bin/hookgate token --tenant T --sub U --roles a,b --ttl 1h)
			flags := map[string]string{"--sub": "admin", "--ttl": "1h"}
			words := shellWords(strings.TrimSuffix(rest, ")"), vars)
			for i := 2; i+1 < len(words); i += 2 {
				flags[words[i]] = words[i+1]
			}
			ttl, err := time.ParseDuration(flags["--ttl"])
			if err != nil {
				t.Fatalf("%s: %v", cmd, err)
			}
			tok, err := auth.Mint(h.cfg.Auth, hookgate.Principal{Subject: flags["--sub"], Tenant: flags["--tenant"], Roles: strings.Split(flags["--roles"], ",")}, ttl)
			if err != nil {
				t.Fatalf("%s: %v", cmd, err)
			}
			vars[name] = tok
			ran["token"]++
			continue
		}
		if !strings.HasPrefix(cmd, "curl ") {
			continue
		}
		words := shellWords(cmd, vars)
		method, url, body := "GET", "", ""
		var headers []string
		token := ""
		for i := 1; i < len(words); i++ {
			switch w := words[i]; {
			case w == "-X":
				method = words[i+1]
				i++
			case w == "-H":
				k, v, _ := strings.Cut(words[i+1], ": ")
				if k == "Authorization" {
					token = strings.TrimPrefix(v, "Bearer ")
				} else if k != "Content-Type" {
					headers = append(headers, k, v)
				}
				i++
			case w == "-d":
				body = words[i+1]
				i++
			case strings.HasPrefix(w, "localhost:8080"):
				url = strings.TrimPrefix(w, "localhost:8080")
			}
		}
		if url == "" {
			t.Fatalf("no URL in %s", cmd)
		}
		if createdID != "" {
			url = docID.ReplaceAllString(url, createdID)
		}
		var r response
		if body != "" {
			r = h.do(method, url, token, body, headers...)
		} else {
			r = h.do(method, url, token, nil, headers...)
		}
		want := 200
		switch {
		case strings.Contains(body, "ftp://"):
			want = 400 // the documented refusal
		case method == "POST" && url == "/v1/webhooks":
			want = 201
		case method == "POST" && strings.HasPrefix(url, "/v1/events"):
			want = 202
		case method == "DELETE":
			want = 204
		}
		r.must(t, want)
		if want == 201 && createdID == "" {
			var w createdWebhook
			r.json(t, &w)
			createdID = w.ID
		}
		ran[method+" "+strings.SplitN(url, "?", 2)[0]]++
	}
	for _, must := range []string{"token", "POST /v1/webhooks", "POST /v1/events", "GET /v1/webhooks", "PATCH /v1/webhooks/" + createdID,
		"DELETE /v1/webhooks/" + createdID, "GET /v1/webhooks/" + createdID + "/deliveries", "GET /v1/event-types"} {
		if ran[must] == 0 {
			t.Errorf("docs/api.md has no runnable example of %s (ran %v)", must, ran)
		}
	}
}
