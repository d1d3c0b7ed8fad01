package schemas_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamscore/streamscore/schemas"
)

// goodSchema loads; each case of TestLoadReportsEveryProblem edits it.
const goodSchema = `name: payments
id: event_id
key: user_id
passthrough: [merchant]
features:
  - name: amount
feature_sets:
  - name: user
    key: "user:{user_id}"
    features: [{name: spend_7d}]
model:
  input: input
  outputs:
    - name: score
`

// TestLoadReportsEveryProblem checks that a bad schema file gets every
// problem at once, each as file:line:col: key.path: message.
func TestLoadReportsEveryProblem(t *testing.T) {
	tests := []struct {
		name     string
		old, new string // replaced in goodSchema
		want     []string
	}{
		{"unknown key with a suggestion", "id: event_id\n", "id: event_id\nevnet_time: ts\n",
			[]string{"F:3:1: evnet_time: unknown key; did you mean event_time?"}},
		{"unknown key without one", "id: event_id\n", "id: event_id\nowner: risk\n",
			[]string{"F:3:1: owner: unknown key; known keys are event_time, feature_sets, features, format, id, key, limits, model, name, passthrough, registry, version"}},
		{"misspelt key that is required", "name: payments\n", "nmae: payments\n",
			[]string{"F:1:1: nmae: unknown key; did you mean name?"}},
		{"unknown key in a list element", "  - name: amount\n", "  - name: amount\n    defualt: 0\n",
			[]string{"F:7:5: features[0].defualt: unknown key; did you mean default?"}},
		{"wrong type: a number", "  - name: amount\n", "  - {name: amount, default: none}\n",
			[]string{`F:6:29: features[0].default: expected a number, got "none"`}},
		{"wrong type: a duration", "    key: \"user:{user_id}\"\n", "    key: \"user:{user_id}\"\n    max_age: a week\n",
			[]string{`F:10:14: feature_sets[0].max_age: expected a duration such as 20ms, 1.5s or 2m, got "a week"`}},
		{"wrong type: a list", "passthrough: [merchant]\n", "passthrough: merchant\n",
			[]string{`F:4:14: passthrough: expected a list such as [a, b] or lines starting with "- ", got "merchant"`}},
		{"wrong type: a mapping", "model:\n  input: input\n  outputs:\n    - name: score\n", "model: input\n",
			[]string{`F:11:8: model: expected a mapping of keys (input, inputs, outputs), got "input"`}},
		{"tab", "model:\n  input: input\n", "model:\n\tinput: input\n",
			[]string{"F:12:1: tabs are not allowed in YAML; use spaces"}},
		{"bad feature type", "  - name: amount\n", "  - {name: amount, type: float16}\n",
			[]string{`F:6:26: features[0].type: "float16" is not one of float32, float64, int32, int64, bool, string`}},
		{"bad layout", "    key: \"user:{user_id}\"\n", "    key: \"user:{user_id}\"\n    layout: columns\n",
			[]string{`F:10:13: feature_sets[0].layout: "columns" is not vector or hash`}},
		{"bad format", "name: payments\n", "name: payments\nformat: thrift\n",
			[]string{`F:2:9: format: "thrift" is not one of json, avro, protobuf`}},
		{"bad non-finite policy", "name: payments\n", "name: payments\nlimits: {non_finite: zero}\n",
			[]string{`F:2:22: limits.non_finite: "zero" is not reject or default`}},
		{"key template naming an undeclared field", `"user:{user_id}"`, `"user:{usr_id}"`,
			[]string{"F:9:10: feature_sets[0].key: {usr_id} is not a field of this schema (did you mean user_id?); a key template may name id, key, event_time or a passthrough field (event_id, user_id, merchant)"}},
		{"several at once", "name: payments\nid: event_id\n", "name: payments\nid: [event_id]\nformat: thrift\nlimts: {}\n",
			[]string{
				`F:2:5: id: expected a string, got a list`,
				`F:3:9: format: "thrift" is not one of json, avro, protobuf`,
				`F:4:1: limts: unknown key; did you mean limits?`,
			}},
		{"validate and YAML problems in file order", "  outputs:\n    - name: score\n", "  outputs: []\nfeatures_sets: []\n",
			[]string{
				"F:13:3: model.outputs: at least one output is required",
				"F:14:1: features_sets: unknown key; did you mean feature_sets?",
			}},
		{"problems without a place come last", "id: event_id\n", "features_sets: []\n",
			[]string{
				"F:2:1: features_sets: unknown key; did you mean feature_sets?",
				"F: id: required (the JSON field holding the event id)",
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(goodSchema, tc.old) {
				t.Fatalf("test bug: %q is not in goodSchema", tc.old)
			}
			path := filepath.Join(t.TempDir(), "payments.schema.yaml")
			if err := os.WriteFile(path, []byte(strings.Replace(goodSchema, tc.old, tc.new, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := schemas.Load(path)
			if err == nil {
				t.Fatalf("Load succeeded, want:\n%s", strings.Join(tc.want, "\n"))
			}
			want := strings.ReplaceAll(strings.Join(tc.want, "\n"), "F:", path+":")
			if got := err.Error(); got != want {
				t.Errorf("Load error:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestGoodSchemaLoads(t *testing.T) {
	if _, err := schemas.Parse([]byte(goodSchema)); err != nil {
		t.Fatal(err)
	}
}
