package config

import (
	"errors"
	"reflect"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/streamscore/streamscore/internal/yamlerr"
)

// A Problem is one thing wrong with streamscore.yaml, where it is and what
// to write instead. Its Error reads as a compiler's does:
//
//	streamscore.yaml:12:3: model.sesions: unknown key; did you mean sessions?
type Problem = yamlerr.Problem

// source is the file a Config was decoded from: its name, its node tree
// (of the expanded text), and how to map the expanded text's columns back
// to the file as written.
type source struct {
	yamlerr.Source
	// shifts holds, per 1-based line, the ${ENV} expansions on it.
	shifts map[int][]shift
	// overridden are the keys the environment set after the file was
	// read (STREAMSCORE_BROKERS): their problems are not the file's.
	overridden map[string]bool
}

func newSource(file string, root *yaml.Node, shifts map[int][]shift) *source {
	s := &source{shifts: shifts}
	s.Source = yamlerr.Source{File: file, Root: root, Column: s.column, Secret: s.expanded}
	return s
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

// check walks the file's tree against Config's type and reports every key
// it does not know and every value its field cannot hold.
func (s *source) check() []Problem { return s.Check(reflect.TypeFor[Config]()) }

// suggest returns the known key closest to key, if it is close enough to
// be a typo.
func suggest(key string, known []string) string { return yamlerr.Suggest(key, known) }

// quotedValue is how yaml.v3 quotes a value in its errors: `value`.
var quotedValue = regexp.MustCompile("`[^`]*`")

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
	k, v := s.Lookup(key)
	if k == nil {
		return p
	}
	n := v
	if v.Kind != yaml.ScalarNode {
		n = k
	}
	p.File, p.Line, p.Column = s.File, n.Line, s.column(n.Line, n.Column)
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
	probs := yamlerr.Tabs(file, src)
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		probs = yamlerr.SyntaxOrTab(probs, file, err, src)
		return yamlerr.Join(probs)
	}
	if root.Kind == 0 {
		return yamlerr.Join(probs)
	}
	s := newSource(file, &root, shifts)
	probs = append(probs, s.check()...)
	if err := root.Decode(c); err != nil && len(probs) == 0 {
		// The walk missed what Decode found (a type that reads itself):
		// report Decode's own words, at their lines.
		for _, line := range strings.Split(err.Error(), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || line == "yaml: unmarshal errors:" {
				continue
			}
			p := yamlerr.Syntax(file, errors.New(line), src)
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
		if k, _ := s.Lookup(key); k == nil {
			continue
		}
		if loadChecked[key] || !decoded {
			probs = append(probs, s.locateLine(line))
		}
	}
	yamlerr.Sort(probs)
	return yamlerr.Join(probs)
}
