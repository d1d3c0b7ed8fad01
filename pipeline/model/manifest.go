package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/streamscore/streamscore/schemas"
)

// ManifestFile is the name of a registry version's manifest, beside its
// model file.
const ManifestFile = "manifest.json"

// DefaultModelFile is the model file of a registry version when its
// manifest names none.
const DefaultModelFile = "model.onnx"

// ErrChecksum is matched (errors.Is) by the error returned when a model
// file's sha256 differs from its manifest's: the file must not be loaded.
var ErrChecksum = errors.New("sha256 mismatch")

// ChecksumError says which file failed its integrity check.
type ChecksumError struct {
	File      string
	Want, Got string
}

// Error says which file changed and both sums.
func (e *ChecksumError) Error() string {
	return fmt.Sprintf("%s: sha256 is %s, the manifest says %s: the file changed after it was registered (or the manifest was edited); it is refused. Register the file again if it is the one you mean", e.File, e.Got, e.Want)
}

// Is makes errors.Is(err, ErrChecksum) true.
func (e *ChecksumError) Is(target error) bool { return target == ErrChecksum }

// Manifest describes one registered model version: its file and the sha256
// it must have, how it binds to the event schema, what its outputs mean and
// where to decide, and when it was made. It is stored as manifest.json in
// the version's folder.
type Manifest struct {
	// Name and Version identify the model; they must match the folder
	// names models/<name>/<version>/.
	Name    string `json:"name"`
	Version string `json:"version"`
	// File is the model file, relative to the manifest; empty means
	// model.onnx.
	File string `json:"file,omitempty"`
	// SHA256 is the hex sha256 of File. A file that does not match is never
	// loaded.
	SHA256 string `json:"sha256"`
	// Created is when the version was registered.
	Created time.Time `json:"created"`
	// Description is free text (training data, owner, ticket).
	Description string `json:"description,omitempty"`
	// Schema names the event schema the model was trained for, as
	// "name/version"; informational.
	Schema string `json:"schema,omitempty"`
	// Binding is how the model's input and outputs bind to the schema.
	Binding Binding `json:"binding"`
	// Threshold, if set, is the decision threshold on the first bound
	// output: a score at or above it is a positive decision. Challenger
	// agreement is measured on decisions when it is set.
	Threshold *float64 `json:"threshold,omitempty"`
	// Golden, if set, names a file of inputs and the outputs this version
	// must reproduce (see Golden) and the tolerance.
	Golden *GoldenRef `json:"golden,omitempty"`
}

// Binding is the model side of a schema binding: the input fed the feature
// tensor, the feature columns in order, and the outputs copied into scored
// events.
type Binding struct {
	// Input is the ONNX input that takes the [N, len(Features)] tensor.
	Input string `json:"input"`
	// Features names the tensor's columns in order; empty skips the name
	// check (the width is then taken from the model).
	Features []string `json:"features,omitempty"`
	// Typed marks a model with typed inputs (several inputs, each fed its
	// features' own columns); Input is then empty.
	Typed bool `json:"typed,omitempty"`
	// Inputs, for a model with typed inputs, are the
	// schema's model.inputs as registered; empty when the inputs were bound
	// by name. Features then lists every feature, strings and arrays
	// included, in schema order.
	Inputs []schemas.InputBinding `json:"inputs,omitempty"`
	// Outputs are the outputs the scored events carry.
	Outputs []BoundOutput `json:"outputs"`

	// spec is the schema BindingFor made the binding from: LoadDir binds a
	// model with typed inputs to it.
	spec *schemas.Spec
}

// BoundOutput is one model output, its name in scored events, and what it
// means.
type BoundOutput struct {
	// Name is the ONNX output name.
	Name string `json:"name"`
	// As is the field name in the scored event's scores; empty means Name.
	As string `json:"as,omitempty"`
	// Meaning says what the value is ("probability of fraud", "expected
	// amount in EUR").
	Meaning string `json:"meaning,omitempty"`
}

// GoldenRef points at a golden file and its tolerance.
type GoldenRef struct {
	// File is relative to the manifest.
	File string `json:"file"`
	// Tolerance is the largest absolute difference allowed per value; 0
	// means 1e-5.
	Tolerance float64 `json:"tolerance,omitempty"`
}

// DefaultTolerance is the golden comparison tolerance when none is given.
const DefaultTolerance = 1e-5

// Names returns the ONNX names of the bound outputs, in order.
func (b Binding) Names() []string {
	out := make([]string, len(b.Outputs))
	for i, o := range b.Outputs {
		out[i] = o.Name
	}
	return out
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// checkName refuses names that are not one plain path element.
func checkName(what, name string) error {
	if !safeName.MatchString(name) || name == "." || name == ".." {
		return fmt.Errorf("%s %q: use letters, digits, '.', '_' and '-', starting with a letter or digit", what, name)
	}
	return nil
}

// Validate reports every missing or malformed field.
func (m *Manifest) Validate() error {
	var errs []error
	if err := checkName("name", m.Name); err != nil {
		errs = append(errs, err)
	}
	if err := checkName("version", m.Version); err != nil {
		errs = append(errs, err)
	}
	if m.File != "" && (filepath.IsAbs(m.File) || m.File != filepath.Base(m.File)) {
		errs = append(errs, fmt.Errorf("file %q: name a file in the manifest's folder", m.File))
	}
	if b, err := hex.DecodeString(m.SHA256); err != nil || len(b) != sha256.Size {
		errs = append(errs, fmt.Errorf("sha256 %q: want 64 hex digits (sha256sum FILE)", m.SHA256))
	}
	switch {
	case m.Binding.Typed && m.Binding.Input != "":
		errs = append(errs, errors.New("binding.input: a model with typed inputs has no single input: drop input, or typed"))
	case !m.Binding.Typed && m.Binding.Input == "":
		errs = append(errs, errors.New("binding.input: name the model input that takes the features (or set typed: true for a model with typed inputs)"))
	}
	if len(m.Binding.Outputs) == 0 {
		errs = append(errs, errors.New("binding.outputs: list at least one output"))
	}
	for i, o := range m.Binding.Outputs {
		if o.Name == "" {
			errs = append(errs, fmt.Errorf("binding.outputs[%d].name: required", i))
		}
	}
	if m.Golden != nil && m.Golden.File == "" {
		errs = append(errs, errors.New("golden.file: name the golden file, or drop golden"))
	}
	if m.Golden != nil && m.Golden.Tolerance < 0 {
		errs = append(errs, errors.New("golden.tolerance: must not be negative"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid manifest: %w", errors.Join(errs...))
	}
	return nil
}

// ModelFile returns the model file's name within the version folder.
func (m *Manifest) ModelFile() string {
	if m.File == "" {
		return DefaultModelFile
	}
	return m.File
}

// ReadManifest reads and validates dir/manifest.json.
func ReadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, ManifestFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("reading manifest %s: %w", path, err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("reading manifest %s: %w", path, err)
	}
	return &m, nil
}

// WriteManifest writes m to dir/manifest.json, atomically (a temporary file
// renamed over the old one).
func WriteManifest(dir string, m *Manifest) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("writing manifest: %w", err)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("writing manifest: %w", err)
	}
	return writeFileAtomic(filepath.Join(dir, ManifestFile), append(b, '\n'))
}

// ReadVerified reads the manifest in dir and its model file, and returns
// both once the file's sha256 matches the manifest; otherwise the error
// matches ErrChecksum and no bytes are returned. Loading the returned bytes
// (not the file again) means what runs is what was checked.
func ReadVerified(dir string) (*Manifest, []byte, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, nil, err
	}
	path := filepath.Join(dir, m.ModelFile())
	data, err := os.ReadFile(path)
	if err != nil {
		return m, nil, fmt.Errorf("reading model file: %w", err)
	}
	if got := SHA256(data); !strings.EqualFold(got, m.SHA256) {
		return m, nil, fmt.Errorf("verifying the model file: %w", &ChecksumError{File: path, Want: strings.ToLower(m.SHA256), Got: got})
	}
	return m, data, nil
}

// SHA256 returns the hex sha256 of data.
func SHA256(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Check compares the binding the model was registered with (b) with the
// binding the schema asks for (want), and reports every difference: input
// name, feature names and order, and each wanted output (present, and under
// the same scored-event name when the manifest gives one).
func (b Binding) Check(want Binding) error {
	var errs []error
	if b.Typed != want.Typed {
		kind := map[bool]string{true: "typed inputs", false: "the single float32 [N, F] input"}
		errs = append(errs, fmt.Errorf("inputs: the manifest registers a model with %s, the schema binds %s: re-register the model with this schema", kind[b.Typed], kind[want.Typed]))
	} else if b.Input != want.Input {
		errs = append(errs, fmt.Errorf("input: the manifest binds %q, the schema %q: fix model.input in the schema or re-register the model", b.Input, want.Input))
	}
	if len(b.Features) > 0 && len(want.Features) > 0 && !slices.Equal(b.Features, want.Features) {
		if len(b.Features) != len(want.Features) {
			errs = append(errs, fmt.Errorf("features: the manifest lists %d features, the schema %d: the model was trained on other columns", len(b.Features), len(want.Features)))
		} else {
			for i := range b.Features {
				if b.Features[i] != want.Features[i] {
					errs = append(errs, fmt.Errorf("features[%d]: the manifest has %q, the schema %q: columns are fed by position, so the order must match", i, b.Features[i], want.Features[i]))
					break
				}
			}
		}
	}
	if len(b.Inputs) > 0 && len(want.Inputs) > 0 && !slices.EqualFunc(b.Inputs, want.Inputs, func(x, y schemas.InputBinding) bool {
		return x.Name == y.Name && slices.Equal(x.Features, y.Features)
	}) {
		errs = append(errs, fmt.Errorf("inputs: the manifest binds %v, the schema %v: fix model.inputs in the schema or re-register the model", b.Inputs, want.Inputs))
	}
	for _, w := range want.Outputs {
		i := slices.IndexFunc(b.Outputs, func(o BoundOutput) bool { return o.Name == w.Name })
		switch {
		case i < 0:
			errs = append(errs, fmt.Errorf("output %q: the schema binds it but the manifest does not list it (it lists %v)", w.Name, b.Names()))
		case b.Outputs[i].As != "" && w.As != "" && b.Outputs[i].As != w.As:
			errs = append(errs, fmt.Errorf("output %q: the manifest publishes it as %q, the schema as %q: scored events would change meaning", w.Name, b.Outputs[i].As, w.As))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("checking the binding against the schema: %w", errors.Join(errs...))
	}
	return nil
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it over path.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
