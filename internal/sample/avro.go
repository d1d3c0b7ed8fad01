package sample

import (
	"encoding/json"
	"fmt"
)

// AvroSchema returns the Avro schema (JSON) of the well-formed events of
// cfg: event_id and user_id strings, ts a timestamp-millis long, f00..f31
// floats, the label (if any) an int, the string features and merchant
// strings. It is the writer schema `streamscore gen` uses for Avro when it
// is given none, and it matches testdata/formats/payments.avsc except that
// every field is required.
func AvroSchema(cfg Config) string {
	type field struct {
		Name string `json:"name"`
		Type any    `json:"type"`
	}
	fields := []field{
		{"event_id", "string"},
		{"user_id", "string"},
		{"ts", map[string]string{"type": "long", "logicalType": "timestamp-millis"}},
	}
	for f := range 32 {
		fields = append(fields, field{fmt.Sprintf("f%02d", f), "float"})
	}
	if cfg.Label != "" {
		fields = append(fields, field{cfg.Label, "int"})
	}
	for _, name := range cfg.StringFeatures {
		fields = append(fields, field{name, "string"})
	}
	fields = append(fields, field{"merchant", "string"})
	b, _ := json.MarshalIndent(map[string]any{
		"type": "record", "name": "Event", "namespace": "streamscore.sample", "fields": fields,
	}, "", " ")
	return string(b)
}
