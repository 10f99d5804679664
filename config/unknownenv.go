package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// EnvPrefix starts every environment variable hookgate reads.
const EnvPrefix = "HOOKGATE_"

// EnvNames lists every environment variable Load reads (HOOKGATE_ and the
// section's and field's names), sorted.
func EnvNames() []string {
	var out []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := range t.NumField() {
			f := t.Field(i)
			if p, ok := f.Tag.Lookup("envPrefix"); ok && f.Type.Kind() == reflect.Struct {
				walk(f.Type, prefix+p)
				continue
			}
			if e := f.Tag.Get("env"); e != "" {
				out = append(out, prefix+e)
			}
		}
	}
	walk(reflect.TypeOf(Config{}), EnvPrefix)
	sort.Strings(out)
	return out
}

// unknownEnv returns a warning for each HOOKGATE_* variable of environ that
// no setting reads (a typo such as HOOKGATE_REDIS_ADRS would otherwise be
// ignored silently, and the default used), naming the closest known one.
func unknownEnv(environ map[string]string) []string {
	known := EnvNames()
	isKnown := map[string]bool{}
	for _, k := range known {
		isKnown[k] = true
	}
	var unknown []string
	for k := range environ {
		if strings.HasPrefix(k, EnvPrefix) && !isKnown[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	out := make([]string, 0, len(unknown))
	for _, k := range unknown {
		w := fmt.Sprintf("environment variable %s is not a hookgate setting and is ignored", k)
		if near, d := closest(k, known); d <= max(3, len(k)/4) {
			w += fmt.Sprintf(" (did you mean %s?)", strings.Join(near, " or "))
		}
		out = append(out, w+"; settings: docs/configuration.md")
	}
	return out
}

// closest returns the names of names nearest to s in edit distance (all
// those at the least distance: HOOKGATE_REDIS_ADRS is as near to _ADDR as to
// _ADDRS), and the distance.
func closest(s string, names []string) ([]string, int) {
	var best []string
	bestD := -1
	for _, n := range names {
		switch d := editDistance(s, n); {
		case bestD < 0 || d < bestD:
			best, bestD = []string{n}, d
		case d == bestD:
			best = append(best, n)
		}
	}
	return best, bestD
}

// editDistance is the Levenshtein distance between a and b (bytes: the
// names are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
