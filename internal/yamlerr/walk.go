package yamlerr

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Source is a YAML file being checked: its name and node tree, and, where
// the text parsed is not the text written, how to map back.
type Source struct {
	File string
	Root *yaml.Node
	// Column maps a parsed line's 1-based column to the file's; nil
	// means they are the same.
	Column func(line, col int) int
	// Secret reports whether a line's values may be secrets, so problems
	// do not quote them; nil means none are.
	Secret func(line int) bool
}

// At returns a Problem with key at n's position (none if n is nil).
func (s *Source) At(n *yaml.Node, key, format string, a ...any) Problem {
	p := Problem{File: s.File, Key: key, Msg: fmt.Sprintf(format, a...)}
	if n != nil {
		p.Line, p.Column = n.Line, s.column(n.Line, n.Column)
	}
	return p
}

func (s *Source) column(line, col int) int {
	if s.Column == nil {
		return col
	}
	return s.Column(line, col)
}

func (s *Source) secret(line int) bool { return s.Secret != nil && s.Secret(line) }

// doc returns the document's top node, or nil for an empty file.
func (s *Source) doc() *yaml.Node {
	n := s.Root
	if n == nil {
		return nil
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		n = n.Content[0]
	}
	return n
}

var keyPart = regexp.MustCompile(`^([^\[\]]*)((?:\[\d+\])*)$`)

// Lookup finds a key path ("model.outputs[1].as") in the file: the node of
// its last key (nil for a list element) and the node of its value. Both
// are nil when the file does not hold the path.
func (s *Source) Lookup(path string) (k, v *yaml.Node) {
	n := s.doc()
	if n == nil {
		return nil, nil
	}
	for _, part := range strings.Split(path, ".") {
		m := keyPart.FindStringSubmatch(part)
		if m == nil {
			return nil, nil
		}
		n = Deref(n)
		if n.Kind != yaml.MappingNode {
			return nil, nil
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == m[1] {
				k, n, found = n.Content[i], n.Content[i+1], true
				break
			}
		}
		if !found {
			return nil, nil
		}
		for _, idx := range strings.Split(strings.Trim(m[2], "[]"), "][") {
			if idx == "" {
				continue
			}
			i, _ := strconv.Atoi(idx)
			n = Deref(n)
			if n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				return nil, nil
			}
			k, n = nil, n.Content[i]
		}
	}
	return k, n
}

// Locate returns where path is in the file: its value's position when the
// value is a scalar, else its key's (or the element's, in a list). ok is
// false when the file does not hold path.
func (s *Source) Locate(path string) (line, col int, ok bool) {
	k, v := s.Lookup(path)
	if v == nil {
		return 0, 0, false
	}
	n := v
	if v.Kind != yaml.ScalarNode && k != nil {
		n = k
	}
	return n.Line, s.column(n.Line, n.Column), true
}

// Deref follows aliases to the node they name.
func Deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// Check walks the file's tree against t, the type it decodes into, and
// reports every key t does not know and every value its field cannot hold.
func (s *Source) Check(t reflect.Type) []Problem {
	var probs []Problem
	if n := s.doc(); n != nil {
		s.walk(n, t, "", &probs)
	}
	return probs
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

func (s *Source) walk(n *yaml.Node, t reflect.Type, path string, probs *[]Problem) {
	n = Deref(n)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // null leaves the default
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return // the type reads itself; Decode reports what it cannot
	}
	switch t.Kind() {
	case reflect.Struct:
		if t == reflect.TypeFor[time.Time]() {
			break
		}
		if n.Kind != yaml.MappingNode {
			*probs = append(*probs, s.At(n, path, "expected a mapping of keys (%s), got %s", strings.Join(KeysOf(t), ", "), s.Describe(n)))
			return
		}
		fields := FieldsOf(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" {
				continue
			}
			f, ok := fields[k.Value]
			if !ok {
				msg := "unknown key"
				if sug := Suggest(k.Value, KeysOf(t)); sug != "" {
					msg += "; did you mean " + sug + "?"
				} else {
					msg += "; known keys are " + strings.Join(KeysOf(t), ", ")
				}
				*probs = append(*probs, s.At(k, JoinKey(path, k.Value), "%s", msg))
				continue
			}
			s.walk(v, f, JoinKey(path, k.Value), probs)
		}
		return
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			*probs = append(*probs, s.At(n, path, "expected a mapping, got %s", s.Describe(n)))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if t.Key().Kind() != reflect.String && k.Kind == yaml.ScalarNode {
				if err := k.Decode(reflect.New(t.Key()).Interface()); err != nil {
					*probs = append(*probs, s.At(k, JoinKey(path, k.Value), "expected a key that is %s, got %s", Expected(t.Key()), s.Describe(k)))
					continue
				}
			}
			s.walk(n.Content[i+1], t.Elem(), JoinKey(path, k.Value), probs)
		}
		return
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			*probs = append(*probs, s.At(n, path, "expected a list such as [a, b] or lines starting with \"- \", got %s", s.Describe(n)))
			return
		}
		for i, e := range n.Content {
			s.walk(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), probs)
		}
		return
	case reflect.Interface:
		return
	}
	// A scalar: decode it alone into its field's type.
	if n.Kind != yaml.ScalarNode {
		*probs = append(*probs, s.At(n, path, "expected %s, got %s", Expected(t), s.Describe(n)))
		return
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		*probs = append(*probs, s.At(n, path, "expected %s, got %s", Expected(t), s.Describe(n)))
	}
}

// Describe says what n is, quoting a scalar unless its line may hold a
// secret.
func (s *Source) Describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	if s.secret(n.Line) {
		return "a value from the environment"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:40] + "…"
	}
	return strconv.Quote(v)
}

// Expected says in YAML terms what a field of type t takes.
func Expected(t reflect.Type) string {
	if t == reflect.TypeFor[time.Duration]() {
		return "a duration such as 20ms, 1.5s or 2m"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	}
	return "a " + t.String()
}

// JoinKey appends key to a dotted key path.
func JoinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// FieldsOf maps the YAML keys of struct t, inline fields' included, to
// their types, as yaml.v3 names them.
func FieldsOf(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range FieldsOf(ft) {
					out[k] = v
				}
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

// KeysOf returns the YAML keys of struct t, sorted.
func KeysOf(t reflect.Type) []string {
	fs := FieldsOf(t)
	keys := make([]string, 0, len(fs))
	for k := range fs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
