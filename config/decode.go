package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/streamscore/streamscore/schemas"
)

// A Problem is one thing wrong with streamscore.yaml, where it is and what
// to write instead. Its Error reads as a compiler's does:
//
//	streamscore.yaml:12:3: model.sesions: unknown key; did you mean sessions?
type Problem struct {
	File   string
	Line   int // 1-based; 0 when the key is not in the file
	Column int // 1-based; 0 when unknown
	Key    string
	Msg    string
}

func (p Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
			if p.Column > 0 {
				fmt.Fprintf(&b, ":%d", p.Column)
			}
		}
		b.WriteString(": ")
	}
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// source is the file a Config was decoded from: its name, its node tree
// (of the expanded text), and how to map the expanded text's columns back
// to the file as written.
type source struct {
	file string
	root *yaml.Node
	// shifts holds, per 1-based line, the ${ENV} expansions on it.
	shifts map[int][]shift
	// overridden are the keys the environment set after the file was
	// read (STREAMSCORE_BROKERS): their problems are not the file's.
	overridden map[string]bool
}

// override notes that key's value no longer comes from the file.
func (s *source) override(key string) {
	if s == nil {
		return
	}
	if s.overridden == nil {
		s.overridden = map[string]bool{}
	}
	s.overridden[key] = true
}

// shift is one ${ENV} expansion on a line, in runes from the line's start.
type shift struct {
	at, expLen, origLen int
}

// column maps an expanded line's 1-based column to the file's.
func (s *source) column(line, col int) int {
	c := col - 1
	delta := 0
	for _, sh := range s.shifts[line] {
		if c < sh.at {
			break
		}
		if c < sh.at+sh.expLen {
			return sh.at + delta + 1 // inside an expansion: point at the ${
		}
		delta += sh.origLen - sh.expLen
	}
	return c + delta + 1
}

// expanded reports whether line held a ${ENV} reference, so its values
// may hold secrets and are not quoted.
func (s *source) expanded(line int) bool { return len(s.shifts[line]) > 0 }

func (s *source) problem(n *yaml.Node, key, format string, a ...any) Problem {
	p := Problem{File: s.file, Key: key, Msg: fmt.Sprintf(format, a...)}
	if n != nil {
		p.Line, p.Column = n.Line, s.column(n.Line, n.Column)
	}
	return p
}

// lookup finds key (dotted) in the file: the key's node and its value's.
func (s *source) lookup(key string) (k, v *yaml.Node) {
	if s == nil || s.root == nil {
		return nil, nil
	}
	n := s.root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, part := range strings.Split(key, ".") {
		n = deref(n)
		if n.Kind != yaml.MappingNode {
			return nil, nil
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == part {
				k, n, found = n.Content[i], n.Content[i+1], true
				break
			}
		}
		if !found {
			return nil, nil
		}
	}
	return k, n
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// check walks the file's tree against Config's type and reports every key
// it does not know and every value its field cannot hold.
func (s *source) check() []Problem {
	var probs []Problem
	n := s.root
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		n = n.Content[0]
	}
	s.walk(n, reflect.TypeFor[Config](), "", &probs)
	return probs
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

func (s *source) walk(n *yaml.Node, t reflect.Type, path string, probs *[]Problem) {
	n = deref(n)
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
			*probs = append(*probs, s.problem(n, path, "expected a mapping of keys (%s), got %s", strings.Join(keysOf(t), ", "), s.describe(n)))
			return
		}
		fields := fieldsOf(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" {
				continue
			}
			f, ok := fields[k.Value]
			if !ok {
				msg := "unknown key"
				if sug := suggest(k.Value, keysOf(t)); sug != "" {
					msg += "; did you mean " + sug + "?"
				} else {
					msg += "; known keys are " + strings.Join(keysOf(t), ", ")
				}
				*probs = append(*probs, s.problem(k, join(path, k.Value), "%s", msg))
				continue
			}
			s.walk(v, f, join(path, k.Value), probs)
		}
		return
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			*probs = append(*probs, s.problem(n, path, "expected a mapping, got %s", s.describe(n)))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			s.walk(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value), probs)
		}
		return
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			*probs = append(*probs, s.problem(n, path, "expected a list such as [a, b] or lines starting with \"- \", got %s", s.describe(n)))
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
		*probs = append(*probs, s.problem(n, path, "expected %s, got %s", expected(t), s.describe(n)))
		return
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		*probs = append(*probs, s.problem(n, path, "expected %s, got %s", expected(t), s.describe(n)))
	}
}

// describe says what n is, quoting a scalar unless its line held a
// ${ENV} reference (the value may be a secret).
func (s *source) describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	if s.expanded(n.Line) {
		return "a value from the environment"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:40] + "…"
	}
	return strconv.Quote(v)
}

// expected says in YAML terms what a field of type t takes.
func expected(t reflect.Type) string {
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

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fieldsOf maps the YAML keys of struct t, inline fields' included, to
// their types, as yaml.v3 names them.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
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
				for k, v := range fieldsOf(ft) {
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

func keysOf(t reflect.Type) []string {
	fs := fieldsOf(t)
	keys := make([]string, 0, len(fs))
	for k := range fs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// suggest returns the known key closest to key, if it is close enough to
// be a typo.
func suggest(key string, known []string) string {
	best, bestD := "", 0
	for _, k := range known {
		d := schemas.EditDistance(strings.ToLower(key), k)
		if best == "" || d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	limit := max(1, min(3, len(key)/3))
	if bestD <= limit || strings.ReplaceAll(strings.ToLower(key), "-", "_") == best {
		return best
	}
	return ""
}

// tabProblems reports each line indented with a tab, which YAML forbids.
func tabProblems(file string, src []byte) []Problem {
	var probs []Problem
	for i, line := range strings.Split(string(src), "\n") {
		for j, c := range line {
			if c == '\t' {
				probs = append(probs, Problem{File: file, Line: i + 1, Column: j + 1, Msg: "tabs are not allowed in YAML; use spaces"})
				break
			}
			if c != ' ' {
				break
			}
		}
	}
	return probs
}

// quotedValue is how yaml.v3 quotes a value in its errors: `value`.
var quotedValue = regexp.MustCompile("`[^`]*`")

var yamlErrLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// syntaxProblem turns a yaml.v3 parse error into a Problem at its line,
// quoting the line as written (not as expanded: it may hold a secret).
func syntaxProblem(file string, err error, src []byte) Problem {
	msg := err.Error()
	m := yamlErrLine.FindStringSubmatch(msg)
	if m == nil {
		return Problem{File: file, Msg: strings.TrimPrefix(msg, "yaml: ")}
	}
	n, _ := strconv.Atoi(m[1])
	lines := strings.Split(string(src), "\n")
	p := Problem{File: file, Line: n, Msg: m[2]}
	if n >= 1 && n <= len(lines) {
		p.Msg += fmt.Sprintf(" (%s)", strings.TrimSpace(lines[n-1]))
	}
	return p
}

var leadingKey = regexp.MustCompile(`^([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*)(?:: | is )`)

// wrapPrefix is a package's "validating model config: " before its first
// problem, dropped so each line starts with its key.
var wrapPrefix = regexp.MustCompile(`^validating [^:]*: `)

// problemLines splits errors as errors.Join writes them into one line per
// problem, each starting with its key where it names one.
func problemLines(errs ...error) []string {
	var out []string
	for _, e := range errs {
		for _, line := range strings.Split(e.Error(), "\n") {
			line = wrapPrefix.ReplaceAllString(line, "")
			if line == "" || line == "invalid configuration:" {
				continue
			}
			out = append(out, line)
		}
	}
	return out
}

// keyOf returns the dotted key a Validate line starts with ("a.b: ..." or
// "a.b is ..."), or "" if it starts with none.
func keyOf(line string) string {
	if m := leadingKey.FindStringSubmatch(line); m != nil {
		return m[1]
	}
	return ""
}

// locate prefixes each line of a Validate error naming a key present in
// the file with the file, line and column of that key's value.
func (s *source) locate(err error) error {
	var errs []error
	for _, line := range problemLines(err) {
		errs = append(errs, s.locateLine(line))
	}
	return errors.Join(errs...)
}

func (s *source) locateLine(line string) Problem {
	p := Problem{Msg: line}
	key := keyOf(line)
	if key == "" || s.overridden[key] {
		return p
	}
	k, v := s.lookup(key)
	if k == nil {
		return p
	}
	n := v
	if v.Kind != yaml.ScalarNode {
		n = k
	}
	p.File, p.Line, p.Column = s.file, n.Line, s.column(n.Line, n.Column)
	return p
}

// loadChecked are the keys Load validates even when the rest of the file
// decodes: values from a fixed list, and addresses, whose mistakes would
// otherwise surface late or only in the commands that use them.
var loadChecked = map[string]bool{
	"http.addr":                true,
	"model.graph_optimization": true,
	"model.execution_provider": true,
	"producer.compression":     true,
	"consumer.start_offset":    true,
	"batch.mode":               true,
	"log.level":                true,
	"log.format":               true,
	"features.policy":          true,
	"kafka.sasl.mechanism":     true,
	"tracing.protocol":         true,
	"tracing.endpoint":         true,
}

// decode reads the expanded text raw (src as written) into c and reports
// every problem at once: tabs, syntax, unknown keys, values of the wrong
// type, values outside their lists, and, when any of those is found, the
// Validate problems of keys the file sets.
func (c *Config) decode(file string, src, raw []byte, shifts map[int][]shift) error {
	probs := tabProblems(file, src)
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		p := syntaxProblem(file, err, src)
		tabbed := false
		for _, t := range probs {
			tabbed = tabbed || t.Line == p.Line
		}
		if !tabbed {
			probs = append(probs, p)
		}
		return joinProblems(probs)
	}
	if root.Kind == 0 {
		return joinProblems(probs)
	}
	s := &source{file: file, root: &root, shifts: shifts}
	probs = append(probs, s.check()...)
	if err := root.Decode(c); err != nil && len(probs) == 0 {
		// The walk missed what Decode found (a type that reads itself):
		// report Decode's own words, at their lines.
		for _, line := range strings.Split(err.Error(), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || line == "yaml: unmarshal errors:" {
				continue
			}
			p := syntaxProblem(file, errors.New(line), src)
			if s.expanded(p.Line) {
				// yaml.v3 quotes the expanded value: it may be a secret.
				p.Msg = quotedValue.ReplaceAllString(p.Msg, "a value from the environment")
			}
			probs = append(probs, p)
		}
	}
	c.src = s
	reported := map[string]bool{}
	for _, p := range probs {
		reported[p.Key] = true
	}
	cp := *c
	decoded := len(probs) == 0
	for _, line := range problemLines(cp.problems()...) {
		key := keyOf(line)
		if key == "" || reported[key] {
			continue
		}
		if k, _ := s.lookup(key); k == nil {
			continue
		}
		if loadChecked[key] || !decoded {
			probs = append(probs, s.locateLine(line))
		}
	}
	sort.SliceStable(probs, func(i, j int) bool {
		a, b := probs[i], probs[j]
		return a.Line != 0 && (b.Line == 0 || a.Line < b.Line || a.Line == b.Line && a.Column < b.Column)
	})
	return joinProblems(probs)
}

func joinProblems(probs []Problem) error {
	errs := make([]error, len(probs))
	for i, p := range probs {
		errs[i] = p
	}
	return errors.Join(errs...)
}
