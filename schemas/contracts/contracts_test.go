package contracts

import (
	"strings"
	"testing"
)

func TestSchemasCompileAndRefuse(t *testing.T) {
	for _, tc := range []struct {
		name, contract, doc, want string
	}{
		{"scored event ok", ScoredEventV1, `{"event_id":"e1","key":"u1","event_time":1,"topic":"events","partition":0,"offset":0,"model":"mlp","model_version":"1","schema":"payments/1","scores":{"p":[0.5,null],"label":"a","zip":{"a":0.1}},"input_ts":1,"scored_at":2,"passthrough":{}}`, ""},
		{"scored event from serve", ScoredEventV1, `{"event_id":"e1","key":"u1","event_time":1,"topic":"http","partition":-1,"offset":0,"model":"mlp","model_version":"1","schema":"payments/1","scores":{"p":0.5},"input_ts":1,"scored_at":2}`, ""},
		{"scored event with partition -2", ScoredEventV1, `{"event_id":"e1","key":"u1","event_time":1,"topic":"http","partition":-2,"offset":0,"model":"mlp","model_version":"1","schema":"payments/1","scores":{"p":0.5},"input_ts":1,"scored_at":2}`, "partition"},
		{"scored event without scores", ScoredEventV1, `{"event_id":"e1","key":"u1","event_time":1,"topic":"events","partition":0,"offset":0,"model":"mlp","model_version":"1","schema":"payments/1","input_ts":1,"scored_at":2}`, "scores"},
		{"scored event with an unknown field", ScoredEventV1, `{"event_id":"e1","key":"u1","event_time":1,"topic":"events","partition":0,"offset":0,"model":"mlp","model_version":"1","schema":"payments/1","scores":{},"input_ts":1,"scored_at":2,"extra":1}`, "extra"},
		{"features_missing false", ScoredEventV1, `{"event_id":"e1","key":"u1","event_time":1,"topic":"events","partition":0,"offset":0,"model":"mlp","model_version":"1","schema":"payments/1","scores":{},"features_missing":false,"input_ts":1,"scored_at":2}`, "features_missing"},
		{"dead letter ok", DeadLetterV1, `{"partition":0,"offset":3,"key":"","value":"{","headers":{"x":"y","streamscore.reason":"invalid_json","streamscore.source.topic":"events","streamscore.source.partition":"1","streamscore.source.offset":"9","streamscore.time":"2026-11-26T06:00:00.123456Z"}}`, ""},
		{"dead letter with an unknown reason", DeadLetterV1, `{"partition":0,"offset":3,"key":"","value":"{","headers":{"streamscore.reason":"bad","streamscore.source.topic":"events","streamscore.source.partition":"1","streamscore.source.offset":"9","streamscore.time":"2026-11-26T06:00:00Z"}}`, "streamscore.reason"},
		{"truncated without sizes", DeadLetterV1, `{"partition":0,"offset":3,"key":"","value":"{","headers":{"streamscore.truncated":"true","streamscore.reason":"too_large","streamscore.source.topic":"events","streamscore.source.partition":"1","streamscore.source.offset":"9","streamscore.time":"2026-11-26T06:00:00Z"}}`, "streamscore.original"},
		{"replay row ok", ReplayOutV1, `{"event_id":"e1","key":"u1","event_time":1,"label":null,"source":"events.jsonl","partition":0,"offset":1,"scores":{"mlp":{"probabilities":[0.9,0.1]}}}`, ""},
		{"replay row with class labels and a ZipMap", ReplayOutV1, `{"event_id":"e1","key":"u1","event_time":1,"source":"events.jsonl","partition":0,"offset":1,"scores":{"rf":{"label":"a","labels":["a","b"],"probabilities":{"a":0.25,"b":0.75}}}}`, ""},
		{"replay row with a boolean score", ReplayOutV1, `{"event_id":"e1","key":"u1","event_time":1,"source":"events.jsonl","partition":0,"offset":1,"scores":{"mlp":{"label":true}}}`, "scores"},
		{"replay row with a string label", ReplayOutV1, `{"event_id":"e1","key":"u1","event_time":1,"label":"yes","source":"events.jsonl","partition":0,"offset":1,"scores":{"mlp":{"p":1}}}`, "label"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.contract, []byte(tc.doc))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("valid document refused: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("document accepted; want an error naming %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %v does not name %q", err, tc.want)
			}
		})
	}
}

func TestEveryOptionalFieldIsDocumented(t *testing.T) {
	// Every property of every contract has a description, and each optional
	// one says so.
	for _, name := range Names() {
		raw, err := Schema(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range undocumented(t, raw) {
			t.Errorf("%s: %s", name, bad)
		}
	}
}
