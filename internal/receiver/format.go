package receiver

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hookgate/hookgate/signing"
)

func isUnchecked(d Delivery) bool { return !d.Verified && errors.Is(d.Err, signing.ErrNoSecrets) }

// format renders one delivery for a terminal:
//
//	2026-03-18T10:00:00Z POST /hooks id=dlv_1 event=contact.created verified=ok size=123 status=200
//	  {
//	    "event": "contact.created",
//	  ...
//
// Everything that came from the request is stripped of control characters so
// that a hostile sender cannot drive the terminal.
func format(d Delivery, code int, quiet bool) string {
	var b strings.Builder
	b.WriteString(d.Received.UTC().Format(time.RFC3339))
	b.WriteByte(' ')
	b.WriteString(clean(d.Method))
	b.WriteByte(' ')
	b.WriteString(clean(d.Path))
	b.WriteString(" id=")
	b.WriteString(orDash(clean(d.ID)))
	b.WriteString(" event=")
	b.WriteString(orDash(clean(d.Event)))
	b.WriteString(" verified=")
	switch {
	case d.Verified:
		b.WriteString("ok")
	case isUnchecked(d):
		b.WriteString("unchecked (no secret)")
	default:
		b.WriteString("FAILED (")
		b.WriteString(clean(d.Err.Error()))
		b.WriteString(")")
	}
	b.WriteString(" size=")
	b.WriteString(strconv.Itoa(len(d.Body)))
	b.WriteString(" status=")
	b.WriteString(strconv.Itoa(code))
	b.WriteByte('\n')

	if c := d.Confirmation; c != nil {
		b.WriteString("  confirm GET ")
		b.WriteString(clean(c.URL))
		if c.Err != nil {
			b.WriteString(" FAILED: ")
			b.WriteString(clean(c.Err.Error()))
		} else {
			b.WriteString(" -> ")
			b.WriteString(strconv.Itoa(c.StatusCode))
		}
		b.WriteByte('\n')
	}
	if !quiet && len(d.Body) > 0 {
		b.WriteString(indent(printable(d.Body)))
	}
	return b.String()
}

// printable returns body pretty-printed when it is JSON, as text otherwise,
// cut to MaxPrintedBody bytes with a note of the full size.
func printable(body []byte) string {
	var pretty bytes.Buffer
	text := body
	if json.Valid(body) && json.Indent(&pretty, body, "", "  ") == nil {
		text = pretty.Bytes()
	}
	s := cleanBlock(string(text))
	if len(s) <= MaxPrintedBody {
		return s
	}
	cut := MaxPrintedBody
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "\n... (truncated, " + strconv.Itoa(len(body)) + " bytes received)"
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ") + "\n"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clean replaces control characters (including newlines) with '?'.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return '?'
		}
		return r
	}, s)
}

// cleanBlock is clean that keeps newlines and tabs.
func cleanBlock(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if unicode.IsControl(r) || r == utf8.RuneError {
			return '?'
		}
		return r
	}, s)
}
