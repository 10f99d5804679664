package app_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
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
