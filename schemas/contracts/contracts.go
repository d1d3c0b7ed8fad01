package contracts

import (
	"bytes"
	"embed"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Contract names: the file name without ".json".
const (
	ScoredEventV1 = "scored-event.v1"
	DeadLetterV1  = "dead-letter.v1"
	ReplayOutV1   = "replay-out.v1"
)

//go:embed *.json
var files embed.FS

// Names returns every contract's name.
func Names() []string { return []string{ScoredEventV1, DeadLetterV1, ReplayOutV1} }

// Schema returns the JSON Schema text of the contract name.
func Schema(name string) ([]byte, error) {
	return files.ReadFile(name + ".json")
}

var (
	compileOnce sync.Once
	compiled    map[string]*jsonschema.Schema
	compileErr  error
)

func compile() {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	compiled = map[string]*jsonschema.Schema{}
	for _, name := range Names() {
		raw, err := Schema(name)
		if err != nil {
			compileErr = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			compileErr = fmt.Errorf("reading %s.json: %w", name, err)
			return
		}
		if err := c.AddResource(name+".json", doc); err != nil {
			compileErr = fmt.Errorf("adding %s.json: %w", name, err)
			return
		}
		s, err := c.Compile(name + ".json")
		if err != nil {
			compileErr = fmt.Errorf("compiling %s.json: %w", name, err)
			return
		}
		compiled[name] = s
	}
}

// Validate checks one JSON document against the contract name and returns
// an error naming every place it breaks the contract. It is safe for
// concurrent use.
func Validate(name string, doc []byte) error {
	compileOnce.Do(compile)
	if compileErr != nil {
		return compileErr
	}
	s, ok := compiled[name]
	if !ok {
		return fmt.Errorf("no contract named %q", name)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if err := s.Validate(v); err != nil {
		return fmt.Errorf("breaks %s: %w", name, err)
	}
	return nil
}
