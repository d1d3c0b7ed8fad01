package schemas_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamscore/streamscore/schemas"
)

const minimalSpec = `
name: payments
version: "1"
id: id
features:
  - name: amount
model:
  input: input
  outputs:
    - name: score
`

func TestParseAppliesDefaults(t *testing.T) {
	s, err := schemas.Parse([]byte(minimalSpec))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got, want := s.Features[0].Type, schemas.TypeFloat32; got != want {
		t.Errorf("Features[0].Type = %q, want %q", got, want)
	}
	if s.Features[0].Default != nil {
		t.Errorf("Features[0].Default = %v, want nil (required)", *s.Features[0].Default)
	}
	if got, want := s.Model.Outputs[0].As, "score"; got != want {
		t.Errorf("Outputs[0].As = %q, want %q", got, want)
	}
	if got, want := s.Limits, schemas.DefaultLimits; got != want {
		t.Errorf("Limits = %+v, want %+v", got, want)
	}
	if got, want := s.String(), "payments/1"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if s.Key != "" || s.EventTime != "" {
		t.Errorf("Key, EventTime = %q, %q; want both empty", s.Key, s.EventTime)
	}
}

func TestParseKeepsExplicitValues(t *testing.T) {
	s, err := schemas.Parse([]byte(`
name: payments
id: id
features:
  - {name: a, type: float64, default: 2.5}
  - {name: b, type: int64}
  - {name: c, type: bool, default: 0}
model:
  input: x
  outputs: [{name: out0, as: fraud}, {name: out1}]
limits: {max_message_bytes: 100, max_fields: 3, max_string_bytes: 7, max_depth: 2, non_finite: default}
`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	wantTypes := []schemas.FieldType{schemas.TypeFloat64, schemas.TypeInt64, schemas.TypeBool}
	for i, want := range wantTypes {
		if got := s.Features[i].Type; got != want {
			t.Errorf("Features[%d].Type = %q, want %q", i, got, want)
		}
	}
	if s.Features[0].Default == nil || *s.Features[0].Default != 2.5 {
		t.Errorf("Features[0].Default = %v, want 2.5", s.Features[0].Default)
	}
	if s.Features[2].Default == nil || *s.Features[2].Default != 0 {
		t.Errorf("Features[2].Default = %v, want 0 (explicit zero is a default)", s.Features[2].Default)
	}
	if got, want := s.Model.Outputs[0].As, "fraud"; got != want {
		t.Errorf("Outputs[0].As = %q, want %q", got, want)
	}
	if got, want := s.Model.Outputs[1].As, "out1"; got != want {
		t.Errorf("Outputs[1].As = %q, want %q", got, want)
	}
	want := schemas.Limits{MaxMessageBytes: 100, MaxFields: 3, MaxStringBytes: 7, MaxDepth: 2, NonFinite: schemas.NonFiniteDefault}
	if s.Limits != want {
		t.Errorf("Limits = %+v, want %+v", s.Limits, want)
	}
	if got, want := strings.Join(s.FeatureNames(), ","), "a,b,c"; got != want {
		t.Errorf("FeatureNames() = %q, want %q", got, want)
	}
	if got, want := s.String(), "payments"; got != want {
		t.Errorf("String() without version = %q, want %q", got, want)
	}
}

func TestParseAllowsKeySameAsID(t *testing.T) {
	spec := strings.Replace(minimalSpec, "id: id\n", "id: id\nkey: id\n", 1)
	if _, err := schemas.Parse([]byte(spec)); err != nil {
		t.Fatalf("Parse with key == id: %v", err)
	}
}

func TestParseRejects(t *testing.T) {
	// Each case edits minimalSpec, which parses, so the failure is the edit's.
	tests := []struct {
		name string
		old  string // replaced in minimalSpec by new
		new  string
		want []string // substrings of the error
	}{
		{"missing name", "name: payments\n", "", []string{"name: required"}},
		{"missing id", "id: id\n", "", []string{"id: required"}},
		{"no features", "features:\n  - name: amount\n", "", []string{"features: at least one"}},
		{"empty features list", "features:\n  - name: amount\n", "features: []\n", []string{"features: at least one"}},
		{"feature without name", "  - name: amount\n", "  - type: float64\n", []string{"features[0].name: required"}},
		{"duplicate feature", "  - name: amount\n", "  - name: amount\n  - name: amount\n", []string{`features[1]: field "amount" is already used as features[0]`}},
		{"feature reuses id", "  - name: amount\n", "  - name: id\n", []string{`features[0]: field "id" is already used as id`}},
		{"event_time reuses key", "id: id\n", "id: id\nkey: user\nevent_time: user\n", []string{`event_time: field "user" is already used as key`}},
		{"passthrough reuses feature", "model:", "passthrough: [amount]\nmodel:", []string{`passthrough[0]: field "amount" is already used as features[0]`}},
		{"empty passthrough", "model:", "passthrough: ['']\nmodel:", []string{"passthrough[0]: empty field name"}},
		{"bad type", "  - name: amount\n", "  - name: amount\n    type: float16\n", []string{`features[0].type: "float16" is not one of`}},
		{"bad non_finite", "model:", "limits: {non_finite: zero}\nmodel:", []string{`limits.non_finite: "zero"`}},
		{"negative limit", "model:", "limits: {max_depth: -1}\nmodel:", []string{"limits: values must be positive"}},
		{"string feature with model.input", "  - name: amount\n", "  - name: amount\n  - {name: country, type: string}\n", []string{"features[1]: a string feature needs typed inputs", "list model.inputs"}},
		{"array feature with model.input", "  - name: amount\n", "  - name: amount\n  - {name: emb, length: 4}\n", []string{"features[1]: a float32[4] array feature needs typed inputs"}},
		{"input and inputs", "  input: input\n", "  input: input\n  inputs: [{name: x, features: [amount]}]\n", []string{"model.inputs: set either model.input"}},
		{"inputs name an unknown feature", "  input: input\n", "  inputs: [{name: x, features: [amount, nope]}]\n", []string{`model.inputs[0].features[1]: "nope" is not a feature`}},
		{"inputs without features", "  input: input\n", "  inputs: [{name: x}]\n", []string{"model.inputs[0].features: at least one"}},
		{"array of strings", "  - name: amount\n", "  - {name: amount, type: string, length: 3}\n", []string{"features[0].length: arrays of string"}},
		{"max_length on a number", "  - name: amount\n", "  - {name: amount, max_length: 3}\n", []string{"features[0].max_length: only string features"}},
		{"numeric default on a string", "  - name: amount\n", "  - {name: amount, type: string, default: 1}\n", []string{"features[0].default: a string feature's default is default_string"}},
		{"no outputs", "  outputs:\n    - name: score\n", "", []string{"model.outputs: at least one"}},
		{"output without name", "    - name: score\n", "    - name: score\n    - as: other\n", []string{"model.outputs[1].name: required"}},
		{"duplicate outputs.as", "    - name: score\n", "    - name: score\n    - {name: p, as: score}\n", []string{`model.outputs[1].as: "score" is used twice`}},
		{"unknown top-level key", "id: id\n", "id: id\nnmae: x\n", []string{"line 5, column 1: nmae: unknown key; did you mean name?"}},
		{"unknown feature key", "  - name: amount\n", "  - name: amount\n    defualt: 1\n", []string{"features[0].defualt: unknown key; did you mean default?"}},
		{"unknown key, no near name", "id: id\n", "id: id\nzzzzzz: x\n", []string{"zzzzzz: unknown key; known keys are event_time, feature_sets, features, format, id, key, limits, model, name, passthrough, registry, version"}},
		{"tab", "id: id\n", "id: id\nlimits:\n\tmax_depth: 3\n", []string{"line 6, column 1: tabs are not allowed in YAML; use spaces"}},
		{"wrong YAML type", "  - name: amount\n", "  - name: amount\n    default: high\n", []string{"features[0].default: expected a number, got \"high\""}},
		{"not YAML", "name: payments\n", "name: [payments\n", []string{"line 1: did not find expected ',' or ']'"}},
		{"every problem reported", "name: payments\nversion: \"1\"\nid: id\n", "", []string{"name: required", "id: required"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(minimalSpec, tc.old) {
				t.Fatalf("test bug: %q is not in minimalSpec", tc.old)
			}
			spec := strings.Replace(minimalSpec, tc.old, tc.new, 1)
			s, err := schemas.Parse([]byte(spec))
			if err == nil {
				t.Fatalf("Parse succeeded (%+v), want an error naming %q", s, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoad(t *testing.T) {
	s, err := schemas.Load(filepath.Join("testdata", "payments.yaml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got, want := s.String(), "payments/3"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := strings.Join(s.FeatureNames(), ","), "amount,items,card_present,risk"; got != want {
		t.Errorf("FeatureNames() = %q, want %q", got, want)
	}
	if got, want := s.Features[3].Type, schemas.TypeFloat32; got != want {
		t.Errorf("risk type = %q, want %q", got, want)
	}
	if got, want := s.Model.Outputs[1].As, "label"; got != want {
		t.Errorf("Outputs[1].As = %q, want %q", got, want)
	}
	if got, want := s.Limits.NonFinite, schemas.NonFiniteDefault; got != want {
		t.Errorf("Limits.NonFinite = %q, want %q", got, want)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want []string
	}{
		{"missing file", filepath.Join(dir, "absent.yaml"), []string{"reading schema"}},
		{"invalid spec", bad, []string{bad, "id: required"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := schemas.Load(tc.path)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
