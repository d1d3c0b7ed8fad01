package schemas

import "github.com/apache/arrow/go/v15/arrow"

// Column names of a decoded batch. Passthrough fields follow, one utf8 column
// each holding the field's raw JSON, named after the field.
const (
	ColID        = "event_id"
	ColKey       = "key"
	ColEventTime = "event_time"
	ColFeatures  = "features"
	// ColSetKeyPrefix starts the name of each feature set's entity-key
	// column, which follows the passthrough columns.
	ColSetKeyPrefix = "fskey:"
)

// Arrow returns the Arrow schema of a decoded batch: event_id (utf8), key
// (utf8), event_time (timestamp ms), features (fixed_size_list<float32>[F],
// row-major, so its values buffer is the model's [N, F] input tensor; F
// counts feature-set features, which hold their defaults until enriched),
// then one utf8 column per passthrough field, then one utf8 column of entity
// keys per feature set.
func (s *Spec) Arrow() *arrow.Schema {
	fields := []arrow.Field{
		{Name: ColID, Type: arrow.BinaryTypes.String},
		{Name: ColKey, Type: arrow.BinaryTypes.String},
		{Name: ColEventTime, Type: arrow.FixedWidthTypes.Timestamp_ms},
		// Arrow has no zero-width list: a schema whose features all have
		// their own columns keeps one unused column of zeros here.
		{Name: ColFeatures, Type: arrow.FixedSizeListOf(int32(max(s.Columns(), 1)), arrow.PrimitiveTypes.Float32)},
	}
	for _, p := range s.Passthrough {
		fields = append(fields, arrow.Field{Name: p, Type: arrow.BinaryTypes.String, Nullable: true})
	}
	for _, fs := range s.FeatureSets {
		fields = append(fields, arrow.Field{Name: ColSetKeyPrefix + fs.Name, Type: arrow.BinaryTypes.String})
	}
	fields = append(fields, s.typedFields()...)
	md := arrow.NewMetadata([]string{"streamscore.schema"}, []string{s.String()})
	return arrow.NewSchema(fields, &md)
}
