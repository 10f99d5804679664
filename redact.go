package hookgate

import "strings"

// RedactedToken stands in for an incoming webhook's token wherever a path
// or a message that may hold one is logged, counted or shown.
const RedactedToken = "{token}"

// RedactTokens returns s with the token of every incoming URL in it ("/in/<token>",
// the prefix matched without regard to case, as the router does) replaced
// by RedactedToken. It takes any text, not only a path: a path, a URL, or an
// error message quoting a request line. It is the one redaction of tokens:
// the gateway's logs and error answers go through it, so a token (the whole
// credential of an incoming webhook) never leaves hookgate but in the URL
// shown to the webhook's admins.
func RedactTokens(s string) string {
	i := indexIn(s, 0)
	if i < 0 {
		return s // the common case: no copy
	}
	var b strings.Builder
	b.Grow(len(s))
	from := 0
	for i >= 0 {
		start := i + len("/in/")
		end := start
		for end < len(s) && !endsToken(s[end]) {
			end++
		}
		b.WriteString(s[from:start])
		if end > start {
			b.WriteString(RedactedToken)
		}
		from = end
		i = indexIn(s, end)
	}
	b.WriteString(s[from:])
	return b.String()
}

// indexIn finds the next "/in/" in s from, case-insensitively.
func indexIn(s string, from int) int {
	for i := from; i+4 <= len(s); i++ {
		if s[i] == '/' && s[i+1]|0x20 == 'i' && s[i+2]|0x20 == 'n' && s[i+3] == '/' {
			return i
		}
	}
	return -1
}

// endsToken reports whether c ends the token segment of a path quoted in
// some text: the path's own delimiters, or what usually surrounds a path in
// a message (space, quotes, brackets, a comma).
func endsToken(c byte) bool {
	switch c {
	case '/', '?', '#', ' ', '\t', '\r', '\n', '"', '\'', '`', '<', '>', '(', ')', '[', ']', ',', ';', '\\':
		return true
	}
	return c < 0x20 || c == 0x7f
}
