// Package filter matches events against a webhook's content filter: a JSON
// object in a subset of MongoDB's query language (the shape Convoy and
// Outpost use), evaluated against the event envelope {type, data}:
//
//	{"data.amount": {"$gte": 1000}, "data.currency": "EUR"}
//	{"$or": [{"type": "deal.won"}, {"data.stage": {"$in": ["won", "lost"]}}]}
//
// Keys are dotted paths ("type", "data", "data.owner.id", "data.items.0.sku")
// or the logical operators $and and $or, each taking a list of filters. A
// path's value is either a literal (shorthand for $eq) or an object of
// operators, all of which must hold: $eq $neq $gt $gte $lt $lte $in $nin
// $exist. docs/filters.md is the reference.
//
// A Filter is parsed once (when the webhook is validated or loaded) and then
// evaluated on the raw event data without decoding it into Go values: paths
// are looked up with gjson, so an event costs a scan per clause and no
// allocation for numbers, booleans and unescaped strings.
package filter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// Limits on a filter, so that evaluating one stays cheap whatever an admin
// writes.
const (
	MaxBytes   = 8 << 10 // the filter's JSON
	MaxClauses = 64      // operators and literals, all levels together
	MaxDepth   = 8       // nesting of $and / $or
	MaxIn      = 256     // values of one $in / $nin
)

// Error is a filter that cannot be parsed: Path says where (e.g.
// "data.amount.$gte" or "$or[1].type"), Message what is wrong.
type Error struct {
	Path    string
	Message string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// Filter is a parsed filter, safe for concurrent use.
type Filter struct {
	root node
}

type op uint8

const (
	opEq op = iota
	opNeq
	opGt
	opGte
	opLt
	opLte
	opIn
	opNin
	opExist
)

var ops = map[string]op{"$eq": opEq, "$neq": opNeq, "$ne": opNeq, "$gt": opGt, "$gte": opGte, "$lt": opLt,
	"$lte": opLte, "$in": opIn, "$nin": opNin, "$exist": opExist, "$exists": opExist}

// value is a literal of the filter, pre-decoded for comparison.
type value struct {
	kind gjson.Type // Null, False, True, Number, String, JSON (array or object)
	num  float64
	str  string // String: the string; JSON: the compact JSON text
}

type clause struct {
	op     op
	val    value   // eq, neq, gt, gte, lt, lte
	set    []value // in, nin
	exists bool    // exist
}

type node struct {
	and, or []node // logical operators
	// a path and its clauses (all must hold); target says where the path
	// is looked up.
	path    string // gjson path within data; "" with target data: the whole data
	target  target
	clauses []clause
}

type target uint8

const (
	targetNone target = iota // a logical node
	targetType
	targetData
)

// Parse reads and checks a filter. An empty filter (nil, "null" or "{}")
// returns nil, which matches every event.
func Parse(raw []byte) (*Filter, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if len(raw) > MaxBytes {
		return nil, &Error{Message: fmt.Sprintf("is %d bytes, over the limit of %d", len(raw), MaxBytes)}
	}
	if !json.Valid(raw) {
		return nil, &Error{Message: "is not valid JSON"}
	}
	res := gjson.ParseBytes(raw)
	if !res.IsObject() {
		return nil, &Error{Message: "must be a JSON object, e.g. {\"data.amount\": {\"$gte\": 1000}}"}
	}
	p := parser{}
	n, err := p.object(res, "", 0)
	if err != nil {
		return nil, err
	}
	if len(n.and) == 0 && len(n.or) == 0 && n.target == targetNone {
		return nil, nil // {}
	}
	return &Filter{root: n}, nil
}

type parser struct{ clauses int }

func (p *parser) count(at string) error {
	p.clauses++
	if p.clauses > MaxClauses {
		return &Error{Path: at, Message: fmt.Sprintf("more than %d conditions in one filter", MaxClauses)}
	}
	return nil
}

// object parses a filter object: its keys are ANDed.
func (p *parser) object(obj gjson.Result, at string, depth int) (node, error) {
	if depth > MaxDepth {
		return node{}, &Error{Path: at, Message: fmt.Sprintf("nested deeper than %d levels", MaxDepth)}
	}
	var parts []node
	var err error
	keys := map[string]bool{}
	obj.ForEach(func(k, v gjson.Result) bool {
		key := k.String()
		if keys[key] {
			err = &Error{Path: join(at, key), Message: "appears twice"}
			return false
		}
		keys[key] = true
		var n node
		switch key {
		case "$and", "$or":
			n, err = p.logical(key, v, join(at, key), depth)
		default:
			if strings.HasPrefix(key, "$") {
				err = &Error{Path: join(at, key), Message: "unknown operator here: use $and or $or, or a path such as data.amount"}
				return false
			}
			n, err = p.field(key, v, join(at, key))
		}
		if err != nil {
			return false
		}
		parts = append(parts, n)
		return true
	})
	if err != nil {
		return node{}, err
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return node{and: parts}, nil
}

func (p *parser) logical(key string, v gjson.Result, at string, depth int) (node, error) {
	if !v.IsArray() || len(v.Array()) == 0 {
		return node{}, &Error{Path: at, Message: "must be a non-empty list of filters"}
	}
	var list []node
	for i, el := range v.Array() {
		elAt := fmt.Sprintf("%s[%d]", at, i)
		if !el.IsObject() {
			return node{}, &Error{Path: elAt, Message: "must be a filter object"}
		}
		n, err := p.object(el, elAt, depth+1)
		if err != nil {
			return node{}, err
		}
		list = append(list, n)
	}
	if key == "$and" {
		return node{and: list}, nil
	}
	return node{or: list}, nil
}

// field parses "path": literal | {"$op": value, ...}.
func (p *parser) field(path string, v gjson.Result, at string) (node, error) {
	n := node{}
	switch {
	case path == "type":
		n.target = targetType
	case path == "data":
		n.target = targetData
	case strings.HasPrefix(path, "data."):
		n.target = targetData
		rest := strings.TrimPrefix(path, "data.")
		parts := strings.Split(rest, ".")
		for i, s := range parts {
			if s == "" {
				return node{}, &Error{Path: at, Message: "has an empty path segment"}
			}
			parts[i] = escape(s)
		}
		n.path = strings.Join(parts, ".")
	default:
		return node{}, &Error{Path: at, Message: `unknown path: paths start with "type" or "data" (e.g. data.amount)`}
	}
	isOps := v.IsObject()
	if isOps {
		// An object whose keys are all operators is a set of conditions; any
		// other object is a literal to compare with.
		v.ForEach(func(k, _ gjson.Result) bool {
			if !strings.HasPrefix(k.String(), "$") {
				isOps = false
			}
			return isOps
		})
		if len(v.Map()) == 0 {
			isOps = false
		}
	}
	if !isOps {
		if err := p.count(at); err != nil {
			return node{}, err
		}
		n.clauses = []clause{{op: opEq, val: literal(v)}}
		return n, nil
	}
	var err error
	v.ForEach(func(k, arg gjson.Result) bool {
		name := k.String()
		opAt := at + "." + name
		o, ok := ops[name]
		if !ok {
			err = &Error{Path: opAt, Message: "unknown operator (use $eq $neq $gt $gte $lt $lte $in $nin $exist)"}
			return false
		}
		if err = p.count(opAt); err != nil {
			return false
		}
		c := clause{op: o}
		switch o {
		case opIn, opNin:
			if !arg.IsArray() {
				err = &Error{Path: opAt, Message: "takes a list of values"}
				return false
			}
			vals := arg.Array()
			if len(vals) > MaxIn {
				err = &Error{Path: opAt, Message: fmt.Sprintf("takes at most %d values", MaxIn)}
				return false
			}
			for _, el := range vals {
				c.set = append(c.set, literal(el))
			}
		case opExist:
			if arg.Type != gjson.True && arg.Type != gjson.False {
				err = &Error{Path: opAt, Message: "takes true or false"}
				return false
			}
			c.exists = arg.Bool()
		case opGt, opGte, opLt, opLte:
			if arg.Type != gjson.Number && arg.Type != gjson.String {
				err = &Error{Path: opAt, Message: "takes a number or a string"}
				return false
			}
			c.val = literal(arg)
		default:
			c.val = literal(arg)
		}
		n.clauses = append(n.clauses, c)
		return true
	})
	if err != nil {
		return node{}, err
	}
	// Deterministic order (JSON objects have none): cheap checks first.
	sort.SliceStable(n.clauses, func(i, j int) bool { return n.clauses[i].op == opExist && n.clauses[j].op != opExist })
	return n, nil
}

// escape quotes gjson's special characters in one path segment, so that a
// key such as "a*b" or "x|y" is looked up literally.
func escape(s string) string {
	if !strings.ContainsAny(s, `\*?|#@!{}[]()=<>%,:"`) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\*?|#@!{}[]()=<>%,:"`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func join(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}

func literal(r gjson.Result) value {
	switch r.Type {
	case gjson.Number:
		return value{kind: gjson.Number, num: r.Num}
	case gjson.String:
		return value{kind: gjson.String, str: r.Str}
	case gjson.JSON:
		return value{kind: gjson.JSON, str: compact(r.Raw)}
	default:
		return value{kind: r.Type}
	}
}

func compact(raw string) string {
	var b bytes.Buffer
	if json.Compact(&b, []byte(raw)) != nil {
		return raw
	}
	return b.String()
}

// Match reports whether the event (its type and raw JSON data) passes the
// filter. A nil Filter matches every event.
func (f *Filter) Match(typ string, data []byte) bool {
	if f == nil {
		return true
	}
	return f.root.match(typ, data)
}

func (n *node) match(typ string, data []byte) bool {
	switch {
	case n.and != nil:
		for i := range n.and {
			if !n.and[i].match(typ, data) {
				return false
			}
		}
		return true
	case n.or != nil:
		for i := range n.or {
			if n.or[i].match(typ, data) {
				return true
			}
		}
		return false
	}
	var got gjson.Result
	switch n.target {
	case targetType:
		got = gjson.Result{Type: gjson.String, Str: typ, Raw: strconv.Quote(typ)}
	case targetData:
		if n.path == "" {
			got = gjson.ParseBytes(data)
		} else {
			got = gjson.GetBytes(data, n.path)
		}
	}
	for i := range n.clauses {
		if !n.clauses[i].holds(got) {
			return false
		}
	}
	return true
}

func (c *clause) holds(got gjson.Result) bool {
	exists := got.Exists()
	switch c.op {
	case opExist:
		return exists == c.exists
	case opEq:
		return exists && equal(got, c.val)
	case opNeq:
		return !exists || !equal(got, c.val)
	case opIn:
		return exists && in(got, c.set)
	case opNin:
		return !exists || !in(got, c.set)
	}
	if !exists {
		return false
	}
	cmp, ok := compare(got, c.val)
	if !ok {
		return false
	}
	switch c.op {
	case opGt:
		return cmp > 0
	case opGte:
		return cmp >= 0
	case opLt:
		return cmp < 0
	default:
		return cmp <= 0
	}
}

func in(got gjson.Result, set []value) bool {
	for _, v := range set {
		if equal(got, v) {
			return true
		}
	}
	return false
}

// equal compares a value of the event with a literal: numbers numerically,
// strings exactly, arrays and objects by their compact JSON.
func equal(got gjson.Result, v value) bool {
	if got.Type != v.kind {
		return false
	}
	switch v.kind {
	case gjson.Number:
		return got.Num == v.num
	case gjson.String:
		return got.Str == v.str
	case gjson.JSON:
		return compact(got.Raw) == v.str
	default:
		return true // null, true, false
	}
}

// compare orders numbers numerically and strings lexically (so RFC 3339
// times in UTC compare as times); other kinds, or kinds that differ, do not
// compare.
func compare(got gjson.Result, v value) (int, bool) {
	switch {
	case got.Type == gjson.Number && v.kind == gjson.Number:
		if math.IsNaN(got.Num) {
			return 0, false
		}
		switch {
		case got.Num < v.num:
			return -1, true
		case got.Num > v.num:
			return 1, true
		}
		return 0, true
	case got.Type == gjson.String && v.kind == gjson.String:
		return strings.Compare(got.Str, v.str), true
	}
	return 0, false
}

// ErrInvalid matches every *Error with errors.Is.
var ErrInvalid = errors.New("invalid filter")

// Is makes errors.Is(err, ErrInvalid) true for parse errors.
func (e *Error) Is(target error) bool { return target == ErrInvalid }
