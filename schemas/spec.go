package schemas

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/streamscore/streamscore/internal/yamlerr"
)

// FieldType is the type of an event field in the schema spec.
type FieldType string

// Field types a feature may have. In the single-input form every feature is
// fed to the model as float32 and the type says what the JSON value must look
// like; with typed inputs (see Spec.Typed) each feature keeps its type in its
// own Arrow column. int32 and string features need typed inputs.
const (
	TypeFloat32 FieldType = "float32"
	TypeFloat64 FieldType = "float64"
	TypeInt32   FieldType = "int32"
	TypeInt64   FieldType = "int64"
	TypeBool    FieldType = "bool"
	TypeString  FieldType = "string"
)

// NonFinitePolicy says what to do with NaN or ±Inf in a feature.
type NonFinitePolicy string

// Non-finite policies.
const (
	NonFiniteReject  NonFinitePolicy = "reject"
	NonFiniteDefault NonFinitePolicy = "default"
)

// Feature is one numeric model feature read from the event.
type Feature struct {
	// Name is the JSON field name at the top level of the event.
	Name string `yaml:"name"`
	// Type is the JSON type expected; the zero value means float32.
	Type FieldType `yaml:"type"`
	// Default is used when the field is absent or null. A feature without a
	// default is required: an event that lacks it is a dead letter. For an
	// array feature it fills every element.
	Default *float64 `yaml:"default"`
	// DefaultString is a string feature's default; without it the string
	// feature is required.
	DefaultString *string `yaml:"default_string"`
	// Length, when positive, makes the feature a fixed-length array of
	// Length numbers of Type (an embedding): a JSON array in the event, a
	// fixed-size-list Arrow column, an [N, Length] model input.
	Length int `yaml:"length"`
	// MaxLength bounds a string feature's length in bytes; a longer value is
	// a too_large dead letter. Zero means DefaultMaxStringLength.
	MaxLength int `yaml:"max_length"`
}

// Feature-set storage layouts in Redis.
const (
	// LayoutVector stores one value per entity: a small header (magic,
	// feature-set version, feature count, write time) followed by the
	// features as little-endian float32, read with one MGET per batch.
	LayoutVector = "vector"
	// LayoutHash stores one Redis hash per entity, one field per feature,
	// read with pipelined HMGETs.
	LayoutHash = "hash"
)

// SetFeature is one feature a feature set provides.
type SetFeature struct {
	Name string `yaml:"name"`
	// Type is float32 (the zero value) or string. A string feature (a
	// category) needs the hash layout and typed inputs: it has its own
	// column (ColFeaturePrefix + Name) instead of a features-matrix column.
	Type FieldType `yaml:"type"`
	// Default is used when the entity is missing, stale or unreadable.
	// The zero value means 0.
	Default float64 `yaml:"default"`
	// DefaultString is a string feature's Default; the zero value is "".
	DefaultString string `yaml:"default_string"`
}

// InMatrix reports whether the feature is a column of the float32
// features matrix: every feature but a string.
func (f *SetFeature) InMatrix() bool { return f.Type != TypeString }

// MatrixWidth returns the number of the set's features in the features
// matrix (its numbers), which start at Offset.
func (fs *FeatureSet) MatrixWidth() int {
	n := 0
	for i := range fs.Features {
		if fs.Features[i].InMatrix() {
			n++
		}
	}
	return n
}

// FeatureSet is a group of features looked up in Redis by an entity key
// built from event fields, and appended to the model input after the
// event's own features.
type FeatureSet struct {
	// Name identifies the set (features load --set NAME).
	Name string `yaml:"name"`
	// Version is written into every stored vector; a reader that finds
	// another version treats the entity as missing (a layout change was not
	// reloaded). The zero value means 1.
	Version int `yaml:"version"`
	// Key is the entity-key template: literal text with {field} naming
	// top-level event fields, e.g. "user:{user_id}". {{ and }} are literal
	// braces, so "user:{{{user_id}}}" makes the Redis Cluster hash-tagged key
	// "user:{u-17}".
	Key string `yaml:"key"`
	// Layout is vector (the default) or hash.
	Layout string `yaml:"layout"`
	// MaxAge, if set, makes features written longer ago than this count as
	// missing.
	MaxAge time.Duration `yaml:"max_age"`
	// Features are the set's features, in tensor column order.
	Features []SetFeature `yaml:"features"`

	// Offset is the features-matrix column of the set's first number;
	// Parse sets it.
	Offset int `yaml:"-"`
	parts  []keyPart
}

// keyPart is a literal (field == "") or a field reference of a key template.
type keyPart struct {
	lit   string
	field string
}

func parseKeyTemplate(t string) ([]keyPart, error) {
	var parts []keyPart
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			parts = append(parts, keyPart{lit: string(lit)})
			lit = lit[:0]
		}
	}
	for i := 0; i < len(t); {
		switch {
		case strings.HasPrefix(t[i:], "{{"):
			lit = append(lit, '{')
			i += 2
		case strings.HasPrefix(t[i:], "}}"):
			lit = append(lit, '}')
			i += 2
		case t[i] == '}':
			return nil, errors.New("unmatched '}' (write }} for a literal brace)")
		case t[i] == '{':
			j := strings.IndexByte(t[i:], '}')
			if j < 0 {
				return nil, errors.New("unmatched '{' (write {{ for a literal brace)")
			}
			name := t[i+1 : i+j]
			if name == "" {
				return nil, errors.New("empty {} in key template")
			}
			flush()
			parts = append(parts, keyPart{field: name})
			i += j + 1
		default:
			lit = append(lit, t[i])
			i++
		}
	}
	flush()
	hasField := false
	for _, p := range parts {
		hasField = hasField || p.field != ""
	}
	if !hasField {
		return nil, errors.New("the key template names no {field}")
	}
	return parts, nil
}

// KeyFields returns the event fields the key template references.
func (fs *FeatureSet) KeyFields() []string {
	var out []string
	for _, p := range fs.parts {
		if p.field != "" {
			out = append(out, p.field)
		}
	}
	return out
}

// AppendKey appends the entity key to dst, taking each referenced field's
// text from value.
func (fs *FeatureSet) AppendKey(dst []byte, value func(field string) []byte) []byte {
	for _, p := range fs.parts {
		if p.field == "" {
			dst = append(dst, p.lit...)
		} else {
			dst = append(dst, value(p.field)...)
		}
	}
	return dst
}

// Output names one model output and where it goes in the scored event.
type Output struct {
	// Name is the ONNX output name.
	Name string `yaml:"name"`
	// As is the field name in the scored event's "scores" object; the zero
	// value means Name.
	As string `yaml:"as"`
}

// Binding ties the schema to the model's inputs and outputs.
type Binding struct {
	// Input is the ONNX input that receives the [N, len(Features)] float32
	// tensor: the single-input form, the fast path. Leave it empty for a
	// model with typed inputs (see Inputs).
	Input string `yaml:"input"`
	// Inputs binds each ONNX input to the features it receives (typed
	// inputs). When both Input and Inputs are empty, each model input is
	// bound to the feature of the same name when the model is opened.
	Inputs []InputBinding `yaml:"inputs"`
	// Outputs lists the model outputs copied into scored events, in order.
	Outputs []Output `yaml:"outputs"`
}

// Limits bound what one event may cost to decode. Zero values mean the
// defaults of DefaultLimits.
type Limits struct {
	MaxMessageBytes int             `yaml:"max_message_bytes"`
	MaxFields       int             `yaml:"max_fields"`
	MaxStringBytes  int             `yaml:"max_string_bytes"`
	MaxDepth        int             `yaml:"max_depth"`
	NonFinite       NonFinitePolicy `yaml:"non_finite"`
}

// DefaultLimits are the limits used where the spec leaves them zero.
var DefaultLimits = Limits{
	MaxMessageBytes: 1 << 20,
	MaxFields:       1024,
	MaxStringBytes:  64 << 10,
	MaxDepth:        32,
	NonFinite:       NonFiniteReject,
}

// Spec is an event schema: how to read an event's id, key, time and features
// from JSON, and how they bind to the model. It is read from YAML with Load.
type Spec struct {
	// Name and Version identify the schema; both travel in scored events
	// and dead letters.
	Name    string `yaml:"name"`
	Version string `yaml:"version"`
	// ID is the JSON field holding the event id (string or number). Required.
	ID string `yaml:"id"`
	// Key is the JSON field holding the entity key. Empty means the Kafka
	// record key is the entity key.
	Key string `yaml:"key"`
	// EventTime is the JSON field holding the event time: an RFC 3339 string
	// or a number of epoch milliseconds. Empty means the Kafka timestamp.
	EventTime string `yaml:"event_time"`
	// Features are the model's numeric inputs, in tensor column order.
	Features []Feature `yaml:"features"`
	// Passthrough fields are copied verbatim (as raw JSON) into scored events.
	Passthrough []string `yaml:"passthrough"`
	// FeatureSets are looked up in Redis per event; their features follow
	// the event features in the model input.
	FeatureSets []FeatureSet `yaml:"feature_sets"`
	// Model binds the features to the model.
	Model Binding `yaml:"model"`
	// Limits bound the cost of one event.
	Limits Limits `yaml:"limits"`
	// Format is how event values are encoded: json (the default), avro or
	// protobuf (see format.go).
	Format Format `yaml:"format"`
	// Registry says where avro and protobuf writer schemas come from.
	Registry RegistrySpec `yaml:"registry"`

	// schemas finds writer schemas by id (see SetSchemaSource).
	schemas SchemaSource
}

// Load reads and validates a schema spec from a YAML file. Its error
// lists every problem at once, one a line, each with the file, line and
// column, the key path and what to write instead:
//
//	payments.yaml:9:11: features[0].type: "float16" is not one of float32, float64, int32, int64, bool, string
func Load(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading schema: %w", err)
	}
	return parse(b, filepath.Dir(path), path)
}

// Parse decodes and validates a schema spec from YAML bytes, reporting
// every problem as Load does, positions as "line L, column C". Unknown
// keys are errors, so a typo does not silently change the schema.
// Relative local schema paths (registry.files, registry.dir) are taken
// relative to the working directory.
func Parse(b []byte) (*Spec, error) { return parse(b, "", "") }

// parse reads b (from file, "" if none; relative paths taken from base)
// and reports every problem at once: tabs, syntax, unknown keys, values of
// the wrong YAML type, and what Validate finds, each where it is.
func parse(b []byte, base, file string) (*Spec, error) {
	probs := yamlerr.Tabs(file, b)
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, yamlerr.Join(yamlerr.SyntaxOrTab(probs, file, err, b))
	}
	src := &yamlerr.Source{File: file, Root: &root}
	probs = append(probs, src.Check(reflect.TypeFor[Spec]())...)
	var s Spec
	if root.Kind != 0 {
		if err := root.Decode(&s); err != nil && len(probs) == 0 {
			// The walk missed what Decode found: report Decode's words.
			for _, line := range strings.Split(err.Error(), "\n") {
				line = strings.TrimSpace(line)
				if line != "" && line != "yaml: unmarshal errors:" {
					probs = append(probs, yamlerr.Syntax(file, errors.New(line), b))
				}
			}
		}
	}
	s.applyDefaults()
	s.applyFormatDefaults(base)
	probs = append(probs, s.locate(src, probs)...)
	if len(probs) > 0 {
		yamlerr.Sort(probs)
		return nil, yamlerr.Join(probs)
	}
	return &s, nil
}

// locate returns Validate's problems at their keys' places in src, less
// those about a key already reported (a value of the wrong type leaves its
// field empty) or one an unknown key was probably meant to be.
func (s *Spec) locate(src *yamlerr.Source, reported []yamlerr.Problem) []yamlerr.Problem {
	var done, meant []string
	for _, p := range reported {
		done = append(done, p.Key)
		if _, sug, ok := strings.Cut(p.Msg, "did you mean "); ok && p.Key != "" {
			parent := ""
			if i := strings.LastIndexByte(p.Key, '.'); i >= 0 {
				parent = p.Key[:i]
			}
			meant = append(meant, yamlerr.JoinKey(parent, strings.TrimSuffix(sug, "?")))
		}
	}
	covered := func(key string) bool {
		for _, d := range done {
			if d != "" && (key == d || strings.HasPrefix(key, d+".") || strings.HasPrefix(key, d+"[")) {
				return true
			}
		}
		return slices.Contains(meant, key)
	}
	var probs []yamlerr.Problem
	for _, err := range s.problems() {
		for _, line := range strings.Split(err.Error(), "\n") {
			key := yamlerr.KeyOf(line)
			if key != "" && covered(key) {
				continue
			}
			p := yamlerr.Problem{File: src.File, Msg: line}
			if rest, ok := strings.CutPrefix(line, key+": "); ok && key != "" {
				p.Key, p.Msg = key, rest
			}
			if key != "" {
				p.Line, p.Column, _ = src.Locate(key)
			}
			probs = append(probs, p)
		}
	}
	return probs
}

func (s *Spec) applyDefaults() {
	for i := range s.Features {
		if s.Features[i].Type == "" {
			s.Features[i].Type = TypeFloat32
		}
	}
	off := s.eventColumns()
	for i := range s.FeatureSets {
		fs := &s.FeatureSets[i]
		if fs.Version == 0 {
			fs.Version = 1
		}
		if fs.Layout == "" {
			fs.Layout = LayoutVector
		}
		fs.Offset = off
		off += fs.MatrixWidth()
	}
	for i := range s.Model.Outputs {
		if s.Model.Outputs[i].As == "" {
			s.Model.Outputs[i].As = s.Model.Outputs[i].Name
		}
	}
	l := &s.Limits
	if l.MaxMessageBytes == 0 {
		l.MaxMessageBytes = DefaultLimits.MaxMessageBytes
	}
	if l.MaxFields == 0 {
		l.MaxFields = DefaultLimits.MaxFields
	}
	if l.MaxStringBytes == 0 {
		l.MaxStringBytes = DefaultLimits.MaxStringBytes
	}
	if l.MaxDepth == 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.NonFinite == "" {
		l.NonFinite = DefaultLimits.NonFinite
	}
}

// Validate reports every problem with the spec, one a line, each naming
// the key and the fix.
func (s *Spec) Validate() error {
	if errs := s.problems(); len(errs) > 0 {
		return fmt.Errorf("invalid schema: %w", errors.Join(errs...))
	}
	return nil
}

// problems lists what Validate reports, each starting with its key path.
func (s *Spec) problems() []error {
	var errs []error
	if s.Name == "" {
		errs = append(errs, errors.New("name: required (a short name for this event schema)"))
	}
	if s.ID == "" {
		errs = append(errs, errors.New("id: required (the JSON field holding the event id)"))
	}
	if len(s.Features) == 0 {
		errs = append(errs, errors.New("features: at least one feature is required"))
	}
	seen := map[string]string{}
	claim := func(name, what string) {
		if prev, ok := seen[name]; ok {
			errs = append(errs, fmt.Errorf("%s: field %q is already used as %s", what, name, prev))
			return
		}
		seen[name] = what
	}
	claim(s.ID, "id")
	if s.Key != "" && s.Key != s.ID {
		claim(s.Key, "key")
	}
	if s.EventTime != "" {
		claim(s.EventTime, "event_time")
	}
	for i, f := range s.Features {
		key := fmt.Sprintf("features[%d]", i)
		if f.Name == "" {
			errs = append(errs, fmt.Errorf("%s.name: required", key))
			continue
		}
		claim(f.Name, key)
		switch f.Type {
		case TypeFloat32, TypeFloat64, TypeInt32, TypeInt64, TypeBool, TypeString:
		default:
			errs = append(errs, fmt.Errorf("%s.type: %q is not one of float32, float64, int32, int64, bool, string", key, f.Type))
		}
		errs = append(errs, f.validateTyped(key)...)
	}
	for i, p := range s.Passthrough {
		if p == "" {
			errs = append(errs, fmt.Errorf("passthrough[%d]: empty field name", i))
			continue
		}
		claim(p, fmt.Sprintf("passthrough[%d]", i))
	}
	for i := range s.FeatureSets {
		fs := &s.FeatureSets[i]
		key := fmt.Sprintf("feature_sets[%d]", i)
		if fs.Name == "" {
			errs = append(errs, fmt.Errorf("%s.name: required", key))
		}
		if len(fs.Features) == 0 {
			errs = append(errs, fmt.Errorf("%s.features: at least one feature is required", key))
		}
		for j, f := range fs.Features {
			if f.Name == "" {
				errs = append(errs, fmt.Errorf("%s.features[%d].name: required", key, j))
				continue
			}
			claim(f.Name, fmt.Sprintf("%s.features[%d]", key, j))
			errs = append(errs, s.validateSetFeature(fs, &f, fmt.Sprintf("%s.features[%d]", key, j))...)
		}
		switch fs.Layout {
		case LayoutVector, LayoutHash:
		default:
			errs = append(errs, fmt.Errorf("%s.layout: %q is not vector or hash", key, fs.Layout))
		}
		if fs.Version < 0 || fs.Version > 65535 {
			errs = append(errs, fmt.Errorf("%s.version: must be within 1..65535", key))
		}
		if fs.MaxAge < 0 {
			errs = append(errs, fmt.Errorf("%s.max_age: must not be negative", key))
		}
		parts, err := parseKeyTemplate(fs.Key)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.key: %q: %w (write e.g. \"user:{user_id}\")", key, fs.Key, err))
		}
		fs.parts = parts
		for _, p := range parts {
			switch {
			case p.field == "":
			case isFeature(s, p.field):
				errs = append(errs, fmt.Errorf("%s.key: {%s} is a numeric feature; key fields must be ids or strings", key, p.field))
			case !slices.Contains(s.keyFields(), p.field):
				errs = append(errs, fmt.Errorf("%s.key: {%s} is not a field of this schema%s; a key template may name id, key, event_time or a passthrough field (%s)",
					key, p.field, didYouMean(p.field, s.keyFields()), strings.Join(s.keyFields(), ", ")))
			}
		}
	}
	errs = append(errs, s.validateInputs()...)
	errs = append(errs, s.validateFormat()...)
	if len(s.Model.Outputs) == 0 {
		errs = append(errs, errors.New("model.outputs: at least one output is required"))
	}
	as := map[string]bool{}
	for i, o := range s.Model.Outputs {
		if o.Name == "" {
			errs = append(errs, fmt.Errorf("model.outputs[%d].name: required", i))
		}
		if as[o.As] {
			errs = append(errs, fmt.Errorf("model.outputs[%d].as: %q is used twice", i, o.As))
		}
		as[o.As] = true
	}
	l := s.Limits
	if l.MaxMessageBytes < 0 || l.MaxFields < 0 || l.MaxStringBytes < 0 || l.MaxDepth < 0 {
		errs = append(errs, errors.New("limits: values must be positive"))
	}
	switch l.NonFinite {
	case NonFiniteReject, NonFiniteDefault:
	default:
		errs = append(errs, fmt.Errorf("limits.non_finite: %q is not reject or default", l.NonFinite))
	}
	return errs
}

// keyFields are the event fields a key template may name: the id, key
// and event-time fields and the passthrough fields.
func (s *Spec) keyFields() []string {
	var out []string
	for _, f := range append([]string{s.ID, s.Key, s.EventTime}, s.Passthrough...) {
		if f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// didYouMean returns " (did you mean X?)" for the name in known closest to
// name, if it is close enough to be a typo, else "".
func didYouMean(name string, known []string) string {
	best, bestD := "", max(1, min(3, len(name)/3))+1
	for _, k := range known {
		if d := EditDistance(name, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + best + "?)"
}

// EditDistance is the Levenshtein distance between a and b, a swap of
// neighbours counting as one edit (nmae is one edit from name). Error
// messages use it for their did-you-mean suggestions.
func EditDistance(a, b string) int { return yamlerr.EditDistance(a, b) }

func isFeature(s *Spec, name string) bool {
	for _, f := range s.Features {
		if f.Name == name {
			return true
		}
	}
	return false
}

// Columns returns the width of the features matrix: the event features
// (numbers only: string and array features have their own columns) plus
// every feature set's features. In the single-input form it is the width of
// the model input.
func (s *Spec) Columns() int {
	n := s.eventColumns()
	for i := range s.FeatureSets {
		n += s.FeatureSets[i].MatrixWidth()
	}
	return n
}

// FeatureNames returns the names of the features matrix's columns in order:
// event features (numbers only), then each feature set's (numbers only).
func (s *Spec) FeatureNames() []string {
	out := make([]string, 0, s.Columns())
	for _, f := range s.Features {
		if f.InMatrix() {
			out = append(out, f.Name)
		}
	}
	for _, fs := range s.FeatureSets {
		for _, f := range fs.Features {
			if f.InMatrix() {
				out = append(out, f.Name)
			}
		}
	}
	return out
}

// String returns "name/version".
func (s *Spec) String() string {
	return strings.TrimSuffix(s.Name+"/"+s.Version, "/")
}
