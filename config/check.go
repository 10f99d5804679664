package config

import (
	"encoding"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The YAML and environment decoders report a bad value by Go field name or
// not at all ("parse error on field "Timeout"", "time: invalid duration").
// Before handing the input to them, checkYAML and checkEnv walk Config's
// fields and try each value given on its own, so that an error names the
// setting (delivery.timeout), where it came from (file and line, or the
// variable) and the form expected.

var durationType = reflect.TypeOf(Duration(0))

// expected describes the form a value of type t is written in.
func expected(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration such as 5s or 1m30s"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "a whole number such as 1024"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "a number such as 0.5"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Slice:
		return "a list of " + plural(expected(t.Elem()))
	case t.Kind() == reflect.Map:
		return "a mapping of names to " + plural(expected(t.Elem()))
	case t.Kind() == reflect.Struct:
		return "a mapping of settings"
	}
	return "a " + t.String()
}

func plural(form string) string {
	for _, a := range []string{"a ", "an "} {
		if rest, ok := strings.CutPrefix(form, a); ok {
			return "values, each " + a + rest
		}
	}
	return form
}

// yamlName is the key a struct field is read from.
func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

// checkYAML checks the document root against the type of cfg; path names
// the file in errors.
func checkYAML(path string, root *yaml.Node, cfg any) error {
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil
		}
		root = root.Content[0]
	}
	return checkNode(path, "", root, reflect.TypeOf(cfg).Elem())
}

func checkNode(path, key string, n *yaml.Node, t reflect.Type) error {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	bad := func(n *yaml.Node, key string, t reflect.Type) error {
		if n.Kind == yaml.ScalarNode {
			return fmt.Errorf("%s:%d: %s: %q is not %s", path, n.Line, key, n.Value, expected(t))
		}
		return fmt.Errorf("%s:%d: %s: expected %s", path, n.Line, key, expected(t))
	}
	join := func(k string) string {
		if key == "" {
			return k
		}
		return key + "." + k
	}
	switch {
	case t.Kind() == reflect.Struct && t != durationType && !reflect.PointerTo(t).Implements(textUnmarshaler):
		if n.Kind != yaml.MappingNode {
			return bad(n, keyOr(key), t)
		}
		fields := map[string]reflect.StructField{}
		for i := 0; i < t.NumField(); i++ {
			if f := t.Field(i); f.IsExported() {
				fields[yamlName(f)] = f
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" {
				continue // a merge key: left to the decoder
			}
			f, ok := fields[k.Value]
			if !ok {
				return fmt.Errorf("%s:%d: %s: unknown setting (see docs/configuration.md)", path, k.Line, join(k.Value))
			}
			if err := checkNode(path, join(k.Value), v, f.Type); err != nil {
				return err
			}
		}
		return nil
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, e := range n.Content {
			if err := checkNode(path, fmt.Sprintf("%s[%d]", key, i), e, t.Elem()); err != nil {
				return err
			}
		}
		return nil
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := checkNode(path, join(n.Content[i].Value), n.Content[i+1], t.Elem()); err != nil {
				return err
			}
		}
		return nil
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		return bad(n, key, t)
	}
	return nil
}

func keyOr(key string) string {
	if key == "" {
		return "the configuration"
	}
	return key
}

var textUnmarshaler = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()

// checkEnv checks every HOOKGATE_* variable set in environ that a field of
// cfg reads, parsing it as the environment decoder will.
func checkEnv(prefix string, environ map[string]string, cfg any) error {
	return checkEnvStruct(prefix, "", environ, reflect.TypeOf(cfg).Elem())
}

func checkEnvStruct(prefix, key string, environ map[string]string, t reflect.Type) error {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := yamlName(f)
		if key != "" {
			name = key + "." + name
		}
		if p, ok := f.Tag.Lookup("envPrefix"); ok && f.Type.Kind() == reflect.Struct {
			if err := checkEnvStruct(prefix+p, name, environ, f.Type); err != nil {
				return err
			}
			continue
		}
		v, ok := environ[prefix+f.Tag.Get("env")]
		if f.Tag.Get("env") == "" || !ok {
			continue
		}
		values := []string{v}
		elem := f.Type
		if f.Type.Kind() == reflect.Slice {
			values, elem = strings.Split(v, ","), f.Type.Elem()
		}
		for _, s := range values {
			if !parses(s, elem) {
				return fmt.Errorf("environment variable %s (%s): %q is not %s", prefix+f.Tag.Get("env"), name, v, expected(f.Type))
			}
		}
	}
	return nil
}

// parses reports whether s is a valid value of type t for the environment
// decoder (github.com/caarlos0/env), which uses strconv and UnmarshalText.
func parses(s string, t reflect.Type) bool {
	var err error
	bits := 0
	switch t.Kind() {
	case reflect.Int, reflect.Uint:
		bits = 32 // as the decoder reads int and uint, whatever the platform
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		bits = t.Bits()
	}
	switch {
	case t == durationType:
		_, err = time.ParseDuration(s)
	case t.Kind() == reflect.Bool:
		_, err = strconv.ParseBool(s)
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		_, err = strconv.ParseInt(s, 10, bits)
	case t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64:
		_, err = strconv.ParseUint(s, 10, bits)
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		_, err = strconv.ParseFloat(s, bits)
	}
	return err == nil
}
