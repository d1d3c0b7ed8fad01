package schemas

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
)

// ColFeaturePrefix starts the name of each feature's own column in a batch
// decoded for typed inputs ("feature:amount"). These columns follow every
// other column.
const ColFeaturePrefix = "feature:"

// DefaultMaxStringLength bounds a string feature's bytes where the schema
// sets no max_length.
const DefaultMaxStringLength = 256

// InputBinding binds one ONNX input to the features it receives: one
// feature gives an [N] or [N, 1] input (an array feature [N, k]); several
// features of one kind are concatenated in order into [N, k].
type InputBinding struct {
	// Name is the ONNX input name.
	Name string `yaml:"name"`
	// Features are event or feature-set feature names, in column order.
	Features []string `yaml:"features"`
}

// Typed reports whether the schema feeds the model typed inputs (model.input
// is empty): each event feature then also gets its own Arrow column of its
// own type (see ColFeaturePrefix). Otherwise the model takes the single
// float32 [N, F] input backed by the features column.
func (s *Spec) Typed() bool { return s.Model.Input == "" }

// InMatrix reports whether the feature is a column of the float32 features
// matrix: every scalar number is; strings and arrays are not.
func (f *Feature) InMatrix() bool { return f.Type != TypeString && f.Length == 0 }

// Width returns the number of values the feature gives one row: Length for
// an array, else 1.
func (f *Feature) Width() int { return max(f.Length, 1) }

// ArrowType returns the type of the feature's own column.
func (f *Feature) ArrowType() arrow.DataType {
	var t arrow.DataType
	switch f.Type {
	case TypeFloat64:
		t = arrow.PrimitiveTypes.Float64
	case TypeInt32:
		t = arrow.PrimitiveTypes.Int32
	case TypeInt64:
		t = arrow.PrimitiveTypes.Int64
	case TypeBool:
		t = arrow.FixedWidthTypes.Boolean
	case TypeString:
		return arrow.BinaryTypes.String
	default:
		t = arrow.PrimitiveTypes.Float32
	}
	if f.Length > 0 {
		return arrow.FixedSizeListOf(int32(f.Length), t)
	}
	return t
}

func (f *Feature) maxLength() int {
	if f.MaxLength > 0 {
		return f.MaxLength
	}
	return DefaultMaxStringLength
}

// eventColumns counts the event features in the features matrix.
func (s *Spec) eventColumns() int {
	n := 0
	for i := range s.Features {
		if s.Features[i].InMatrix() {
			n++
		}
	}
	return n
}

// FeatureColumn returns the index in a decoded record of the named
// feature's own column (an event feature, or a feature set's string
// feature), or -1 when the schema has no such column or is not Typed.
func (s *Spec) FeatureColumn(name string) int {
	if !s.Typed() {
		return -1
	}
	first := 4 + len(s.Passthrough) + len(s.FeatureSets)
	for i := range s.Features {
		if s.Features[i].Name == name {
			return first + i
		}
	}
	for i, f := range s.setStringFeatures() {
		if f.Name == name {
			return first + len(s.Features) + i
		}
	}
	return -1
}

// MatrixColumn returns the features-matrix column of the named feature
// (event or feature-set), or -1.
func (s *Spec) MatrixColumn(name string) int {
	for i, n := range s.FeatureNames() {
		if n == name {
			return i
		}
	}
	return -1
}

// Feature returns the event feature named name, or nil.
func (s *Spec) Feature(name string) *Feature {
	for i := range s.Features {
		if s.Features[i].Name == name {
			return &s.Features[i]
		}
	}
	return nil
}

func (f *Feature) validateTyped(key string) []error {
	var errs []error
	if f.Length < 0 {
		errs = append(errs, fmt.Errorf("%s.length: %d is negative: give the array's length, or leave it out for a single value", key, f.Length))
	}
	if f.Length > 0 && (f.Type == TypeString || f.Type == TypeBool) {
		errs = append(errs, fmt.Errorf("%s.length: arrays of %s are not supported: use a numeric type", key, f.Type))
	}
	if f.MaxLength < 0 {
		errs = append(errs, fmt.Errorf("%s.max_length: must not be negative", key))
	}
	if f.MaxLength > 0 && f.Type != TypeString {
		errs = append(errs, fmt.Errorf("%s.max_length: only string features have one; remove it", key))
	}
	if f.Type == TypeString && f.Default != nil {
		errs = append(errs, fmt.Errorf("%s.default: a string feature's default is default_string", key))
	}
	if f.Type != TypeString && f.DefaultString != nil {
		errs = append(errs, fmt.Errorf("%s.default_string: only string features take one; use default", key))
	}
	return errs
}

// validateInputs checks model.input and model.inputs.
func (s *Spec) validateInputs() []error {
	var errs []error
	if s.Model.Input != "" {
		if len(s.Model.Inputs) > 0 {
			errs = append(errs, errors.New("model.inputs: set either model.input (one float32 [N, F] input) or model.inputs (typed inputs), not both"))
		}
		for i := range s.Features {
			f := &s.Features[i]
			if f.Type == TypeString || f.Type == TypeInt32 || f.Length > 0 {
				errs = append(errs, fmt.Errorf("features[%d]: a %s feature needs typed inputs, but model.input feeds one float32 [N, F] tensor: remove model.input and list model.inputs (or leave both out to bind the model's inputs to features by name)", i, describe(f)))
			}
		}
		return errs
	}
	names := map[string]bool{}
	for _, n := range s.FeatureNames() {
		names[n] = true
	}
	for _, f := range s.Features {
		names[f.Name] = true
	}
	seen := map[string]bool{}
	for i, in := range s.Model.Inputs {
		key := fmt.Sprintf("model.inputs[%d]", i)
		if in.Name == "" {
			errs = append(errs, fmt.Errorf("%s.name: required (the ONNX input name; `streamscore model inspect FILE` lists them)", key))
		}
		if seen[in.Name] {
			errs = append(errs, fmt.Errorf("%s.name: input %q is bound twice", key, in.Name))
		}
		seen[in.Name] = true
		if len(in.Features) == 0 {
			errs = append(errs, fmt.Errorf("%s.features: at least one feature is required", key))
		}
		for j, name := range in.Features {
			if !names[name] {
				errs = append(errs, fmt.Errorf("%s.features[%d]: %q is not a feature of this schema: add it to features (or a feature set)", key, j, name))
			}
		}
	}
	return errs
}

func describe(f *Feature) string {
	if f.Length > 0 {
		return fmt.Sprintf("%s[%d] array", f.Type, f.Length)
	}
	return string(f.Type)
}

// typedFields returns the Arrow fields of the features' own columns.
func (s *Spec) typedFields() []arrow.Field {
	if !s.Typed() {
		return nil
	}
	out := make([]arrow.Field, len(s.Features))
	for i := range s.Features {
		out[i] = arrow.Field{Name: ColFeaturePrefix + s.Features[i].Name, Type: s.Features[i].ArrowType()}
	}
	// Feature-set string features: their defaults until the feature store
	// fills them (Decoded.SetStrings).
	for _, f := range s.setStringFeatures() {
		out = append(out, arrow.Field{Name: ColFeaturePrefix + f.Name, Type: arrow.BinaryTypes.String})
	}
	return out
}

// typedDecoder reads the features of a Typed schema into their own columns,
// as well as the numbers into the features matrix. It reuses the Decoder's
// scanner and per-row state.
type typedDecoder struct {
	feats []typedFeat
	// setDefaults are the feature sets' string features' defaults, one
	// column each after the event features'.
	setDefaults [][]byte
	// gather lists the scratch-row positions that make the matrix row.
	gather []int
	first  int // record column of the first feature column
}

// typedFeat is one feature's value in the current row.
type typedFeat struct {
	f   *Feature
	i64 int64
	f64 float64
	b   bool
	str []byte
	arr []float64
	def []float64 // an array's default, Length copies of Default
	nan bool      // the array held a non-finite value that takes the default
	n   int       // elements a binary reader has read into arr
}

func newTypedDecoder(d *Decoder) *typedDecoder {
	s := d.spec
	t := &typedDecoder{first: 4 + len(s.Passthrough) + len(s.FeatureSets)}
	for i := range s.Features {
		f := &s.Features[i]
		tf := typedFeat{f: f}
		if f.Length > 0 {
			tf.arr = make([]float64, f.Length)
			if f.Default != nil {
				tf.def = make([]float64, f.Length)
				for j := range tf.def {
					tf.def[j] = *f.Default
				}
			}
		}
		if f.Type == TypeString {
			d.required[i] = f.DefaultString == nil
		}
		t.feats = append(t.feats, tf)
		if f.InMatrix() {
			t.gather = append(t.gather, i)
		}
	}
	for j := len(s.Features); j < len(d.row); j++ {
		t.gather = append(t.gather, j)
	}
	for _, f := range s.setStringFeatures() {
		t.setDefaults = append(t.setDefaults, []byte(f.DefaultString))
	}
	return t
}

// scratchColumns is the length of the Decoder's scratch row: every event
// feature (strings and arrays keep an unused slot), then the feature sets'.
func (s *Spec) scratchColumns() int {
	return len(s.Features) + s.Columns() - s.eventColumns()
}

// feature reads event feature i's value at the scanner's position.
func (t *typedDecoder) feature(d *Decoder, i int) bool {
	sc := &d.sc
	tf := &t.feats[i]
	f := tf.f
	c := sc.peek()
	if c == 'n' {
		if !sc.literal("null") {
			return false
		}
		d.seen[i] = false
		return true
	}
	switch {
	case f.Type == TypeString:
		if c != '"' {
			return t.mismatch(d, "a string")
		}
		s, ok := sc.str()
		if !ok {
			return false
		}
		tf.str = appendValidUTF8(tf.str[:0], s)
		if len(tf.str) > f.maxLength() {
			d.failField = f.Name
			return sc.fail(ReasonTooLarge, "string of "+strconv.Itoa(len(tf.str))+" bytes is over the feature's max_length of "+strconv.Itoa(f.maxLength()))
		}
	case f.Length > 0:
		if c != '[' {
			return t.mismatch(d, "an array of "+strconv.Itoa(f.Length)+" numbers")
		}
		if !t.array(d, i) {
			return false
		}
		if tf.nan {
			d.seen[i] = false // a non-finite element: the default, by limits.non_finite
			return true
		}
	case f.Type == TypeBool:
		switch c {
		case 't':
			if !sc.literal("true") {
				return false
			}
			tf.b = true
		case 'f':
			if !sc.literal("false") {
				return false
			}
			tf.b = false
		default:
			return t.mismatch(d, "bool (true or false)")
		}
		d.row[i] = 0
		if tf.b {
			d.row[i] = 1
		}
	default:
		if !(c == '-' || c == 'N' || c == 'I' || (c >= '0' && c <= '9')) {
			return t.mismatch(d, string(f.Type))
		}
		v, ok := t.number(d, i)
		if !ok {
			return false
		}
		if math.IsNaN(v) {
			d.seen[i] = false // non-finite: the default, by limits.non_finite
			return true
		}
		tf.f64 = v
		d.row[i] = float32(v)
	}
	d.seen[i] = true
	return true
}

// array reads feature i's JSON array, which must hold exactly Length numbers.
func (t *typedDecoder) array(d *Decoder, i int) bool {
	sc := &d.sc
	tf := &t.feats[i]
	f := tf.f
	tf.nan = false
	sc.i++ // '['
	n, bad := 0, false
	sc.ws()
	if sc.peek() == ']' {
		sc.i++
	} else {
		for {
			sc.ws()
			if c := sc.peek(); c == '-' || c == 'N' || c == 'I' || (c >= '0' && c <= '9') {
				v, ok := t.number(d, i)
				if !ok {
					return false
				}
				if math.IsNaN(v) {
					tf.nan = true
				}
				if n < f.Length {
					tf.arr[n] = v
				}
			} else if !sc.skip(2) {
				return false
			} else {
				bad = true
			}
			n++
			sc.ws()
			if sc.peek() == ',' {
				sc.i++
				continue
			}
			if sc.peek() == ']' {
				sc.i++
				break
			}
			return sc.failAt(ReasonInvalidJSON, "expected ',' or ']'")
		}
	}
	if bad || n != f.Length {
		d.failField = f.Name
		return sc.fail(ReasonTypeMismatch, "expected an array of "+strconv.Itoa(f.Length)+" "+string(f.Type)+" numbers, got "+strconv.Itoa(n)+" values")
	}
	return true
}

// number reads one number of feature i's type. A non-finite value follows
// limits.non_finite: rejected, or NaN with d.seen[i] false (the default).
func (t *typedDecoder) number(d *Decoder, i int) (float64, bool) {
	sc := &d.sc
	tf := &t.feats[i]
	txt, nonStd, ok := sc.number()
	if !ok {
		return 0, false
	}
	if nonStd {
		if d.nonFinite(i, tf.f) {
			return math.NaN(), true
		}
		return 0, false
	}
	switch tf.f.Type {
	case TypeInt32, TypeInt64:
		bits := 64
		if tf.f.Type == TypeInt32 {
			bits = 32
		}
		n, err := strconv.ParseInt(bstr(txt), 10, bits)
		if err != nil {
			d.failField = tf.f.Name
			return 0, sc.fail(ReasonTypeMismatch, "expected "+string(tf.f.Type)+", got "+strconv.Quote(string(txt)))
		}
		tf.i64 = n
		return float64(n), true
	case TypeFloat32:
		p, err := strconv.ParseFloat(bstr(txt), 32)
		if math.IsInf(p, 0) {
			if d.nonFinite(i, tf.f) {
				return math.NaN(), true
			}
			return 0, false
		}
		if err != nil {
			d.failField = tf.f.Name
			return 0, sc.fail(ReasonTypeMismatch, "expected float32")
		}
		return p, true
	default:
		p, err := strconv.ParseFloat(bstr(txt), 64)
		if math.IsInf(p, 0) || math.IsInf(float64(float32(p)), 0) {
			if d.nonFinite(i, tf.f) {
				return math.NaN(), true
			}
			return 0, false
		}
		if err != nil {
			d.failField = tf.f.Name
			return 0, sc.fail(ReasonTypeMismatch, "expected "+string(tf.f.Type))
		}
		return p, true
	}
}

// mismatch skips the value (invalid JSON stays invalid_json) and fails the
// row with type_mismatch.
func (t *typedDecoder) mismatch(d *Decoder, want string) bool {
	if !d.sc.skip(1) {
		return false
	}
	return d.mismatch(want)
}

// appendRow writes the current row's matrix values into row (one row of
// the feature matrix) and appends its feature columns.
func (t *typedDecoder) appendRow(d *Decoder, row []float32, b *array.RecordBuilder) {
	for k, j := range t.gather {
		row[k] = d.row[j]
	}
	clear(row[len(t.gather):]) // a matrix of no columns has one (Spec.Arrow)
	for i := range t.feats {
		tf := &t.feats[i]
		f := tf.f
		seen := d.seen[i]
		fb := b.Field(t.first + i)
		switch {
		case f.Type == TypeString:
			v := tf.str
			if !seen {
				v = []byte(*f.DefaultString)
			}
			fb.(*array.StringBuilder).BinaryBuilder.Append(v)
		case f.Length > 0:
			lb := fb.(*array.FixedSizeListBuilder)
			lb.Append(true)
			vals := tf.arr
			if !seen {
				vals = tf.def
			}
			switch vb := lb.ValueBuilder().(type) {
			case *array.Float32Builder:
				for _, v := range vals {
					vb.Append(float32(v))
				}
			case *array.Float64Builder:
				vb.AppendValues(vals, nil)
			case *array.Int32Builder:
				for _, v := range vals {
					vb.Append(int32(v))
				}
			case *array.Int64Builder:
				for _, v := range vals {
					vb.Append(int64(v))
				}
			}
		default:
			v, n, bv := tf.f64, tf.i64, tf.b
			if !seen {
				v = *f.Default
				n = int64(v)
				bv = v != 0
			}
			switch x := fb.(type) {
			case *array.Float32Builder:
				x.Append(float32(v))
			case *array.Float64Builder:
				x.Append(v)
			case *array.Int32Builder:
				x.Append(int32(n))
			case *array.Int64Builder:
				x.Append(n)
			case *array.BooleanBuilder:
				x.Append(bv)
			}
		}
	}
	for j, v := range t.setDefaults {
		b.Field(t.first + len(t.feats) + j).(*array.StringBuilder).BinaryBuilder.Append(v)
	}
}

// appendTyped appends row's value of a string or keyed (ZipMap) output: a
// string, an array of strings, or an object {"<key>": value, ...}.
func appendTyped(dst []byte, s *Scores, row int) []byte {
	if s.Strings != nil {
		vals := s.Strings[row*s.Width : (row+1)*s.Width]
		if s.Width == 1 {
			return AppendString(dst, vals[0])
		}
		dst = append(dst, '[')
		for j, v := range vals {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, v)
		}
		return append(dst, ']')
	}
	dst = append(dst, '{')
	for j, v := range s.Values[row*s.Width : (row+1)*s.Width] {
		if j > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, s.Keys[j])
		dst = append(dst, ':')
		dst = appendNumber(dst, v, s.Bits)
	}
	return append(dst, '}')
}

// validateSetFeature checks a feature-set feature's type and defaults.
func (s *Spec) validateSetFeature(fs *FeatureSet, f *SetFeature, key string) []error {
	var errs []error
	switch f.Type {
	case "", TypeFloat32:
		if f.DefaultString != "" {
			errs = append(errs, fmt.Errorf("%s.default_string: only string features take one; use default", key))
		}
	case TypeString:
		if fs.Layout != LayoutHash {
			errs = append(errs, fmt.Errorf("%s.type: a string feature needs layout: hash (the vector layout stores float32 values only); set feature_sets.layout: hash and reload the set", key))
		}
		if !s.Typed() {
			errs = append(errs, fmt.Errorf("%s.type: a string feature needs typed inputs, but model.input feeds one float32 [N, F] tensor: remove model.input and list model.inputs (or leave both out to bind the model's inputs to features by name)", key))
		}
		if f.Default != 0 {
			errs = append(errs, fmt.Errorf("%s.default: a string feature's default is default_string", key))
		}
	default:
		errs = append(errs, fmt.Errorf("%s.type: %q is not float32 or string (feature sets store float32 numbers, or strings in the hash layout)", key, f.Type))
	}
	return errs
}

// SetFeature returns the feature-set feature named name and its set, or
// nils.
func (s *Spec) SetFeature(name string) (*FeatureSet, *SetFeature) {
	for i := range s.FeatureSets {
		fs := &s.FeatureSets[i]
		for j := range fs.Features {
			if fs.Features[j].Name == name {
				return fs, &fs.Features[j]
			}
		}
	}
	return nil, nil
}

// setStringFeatures returns the string features of every feature set, in
// schema order: their own columns follow the event features' columns.
func (s *Spec) setStringFeatures() []*SetFeature {
	var out []*SetFeature
	for i := range s.FeatureSets {
		fs := &s.FeatureSets[i]
		for j := range fs.Features {
			if !fs.Features[j].InMatrix() {
				out = append(out, &fs.Features[j])
			}
		}
	}
	return out
}

// The binary formats' setters: a value the Avro or Protobuf reader took
// from the writer's field, stored as the JSON reader stores the same value
// written as JSON, so both give the same columns. The writer schema's
// types were checked against the features when it was compiled
// (avroFitsTyped, protoFitsTyped); a value that still cannot feed the
// feature (an int32 feature given a long out of its range) fails the row
// with type_mismatch, as JSON does.

// setFloat stores a finite float read from a field of the given bits into
// feature i.
func (t *typedDecoder) setFloat(d *Decoder, i int, v float64) bool {
	tf := &t.feats[i]
	switch tf.f.Type {
	case TypeFloat32:
		v = float64(float32(v))
	case TypeFloat64:
	default:
		return d.wireFail(ReasonTypeMismatch, tf.f.Name, "expected "+string(tf.f.Type)+", got a fraction")
	}
	tf.f64 = v
	d.row[i] = float32(v)
	d.seen[i] = true
	return true
}

// setInt stores an integer into feature i.
func (t *typedDecoder) setInt(d *Decoder, i int, v int64) bool {
	tf := &t.feats[i]
	switch tf.f.Type {
	case TypeInt32:
		if v < math.MinInt32 || v > math.MaxInt32 {
			return d.wireFail(ReasonTypeMismatch, tf.f.Name, "expected int32, got "+strconv.FormatInt(v, 10))
		}
		tf.i64 = v
	case TypeInt64:
		tf.i64 = v
	case TypeFloat32:
		tf.f64 = float64(float32(v))
	case TypeFloat64:
		tf.f64 = float64(v)
	default:
		return d.wireFail(ReasonTypeMismatch, tf.f.Name, "expected "+string(tf.f.Type)+", got an integer")
	}
	d.row[i] = float32(v)
	d.seen[i] = true
	return true
}

// setString stores a string (an Avro string or enum symbol, a Protobuf
// string or enum name) into feature i.
func (t *typedDecoder) setString(d *Decoder, i int, s []byte) bool {
	tf := &t.feats[i]
	if tf.f.Type != TypeString {
		return d.wireFail(ReasonTypeMismatch, tf.f.Name, "expected "+string(tf.f.Type))
	}
	if len(s) > tf.f.maxLength() {
		return d.wireFail(ReasonTooLarge, tf.f.Name, "string of "+strconv.Itoa(len(s))+" bytes is over the feature's max_length of "+strconv.Itoa(tf.f.maxLength()))
	}
	tf.str = append(tf.str[:0], s...)
	d.seen[i] = true
	return true
}

// setBool stores a boolean into feature i.
func (t *typedDecoder) setBool(d *Decoder, i int, v bool) bool {
	tf := &t.feats[i]
	if tf.f.Type != TypeBool {
		return d.wireFail(ReasonTypeMismatch, tf.f.Name, "expected "+string(tf.f.Type)+", got a boolean")
	}
	tf.b = v
	d.row[i] = 0
	if v {
		d.row[i] = 1
	}
	d.seen[i] = true
	return true
}

// startArray starts reading array feature i's elements.
func (t *typedDecoder) startArray(i int) {
	t.feats[i].n = 0
	t.feats[i].nan = false
}

// arrayValue appends one element to array feature i. The element is
// stored as JSON stores it: rounded to float32 for a float32 array, an
// integer in range for an integer one.
func (t *typedDecoder) arrayValue(d *Decoder, i int, v float64) bool {
	tf := &t.feats[i]
	switch tf.f.Type {
	case TypeFloat32:
		if math.IsInf(float64(float32(v)), 0) {
			v = math.NaN()
		}
		v = float64(float32(v))
	case TypeFloat64:
		if math.IsInf(float64(float32(v)), 0) {
			v = math.NaN()
		}
	case TypeInt32:
		if v != math.Trunc(v) || v < math.MinInt32 || v > math.MaxInt32 {
			return d.wireFail(ReasonTypeMismatch, tf.f.Name, "expected int32 elements, got "+strconv.FormatFloat(v, 'g', -1, 64))
		}
	case TypeInt64:
		if v != math.Trunc(v) {
			return d.wireFail(ReasonTypeMismatch, tf.f.Name, "expected int64 elements, got "+strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	if math.IsNaN(v) {
		tf.nan = true
	}
	if tf.n < len(tf.arr) {
		tf.arr[tf.n] = v
	}
	tf.n++
	return true
}

// finishArray checks array feature i's element count (which must be its
// length) and its non-finite elements, as the JSON reader does. An array
// with no elements where the writer cannot say absent (a Protobuf
// repeated field) is absent when absentIfEmpty is set.
func (t *typedDecoder) finishArray(d *Decoder, i int, absentIfEmpty bool) bool {
	tf := &t.feats[i]
	f := tf.f
	if tf.n == 0 && absentIfEmpty {
		d.seen[i] = false
		return true
	}
	if tf.n != f.Length {
		return d.wireFail(ReasonTypeMismatch, f.Name, "expected an array of "+strconv.Itoa(f.Length)+" "+string(f.Type)+" numbers, got "+strconv.Itoa(tf.n)+" values")
	}
	if tf.nan {
		if d.spec.Limits.NonFinite == NonFiniteDefault && f.Default != nil {
			d.seen[i] = false
			return true
		}
		return d.wireFail(ReasonNonFinite, f.Name, "value is NaN or infinite")
	}
	d.seen[i] = true
	return true
}

// wireKind is what a writer's value must be to feed a typed feature.
type wireKind uint8

const (
	wireNumber wireKind = iota // any integer or float
	wireInteger
	wireBool
	wireString
)

// typedWant returns what values of f's elements (or f itself) must be, and
// a phrase naming it for a schema_mismatch message.
func typedWant(f *Feature) (wireKind, string) {
	switch f.Type {
	case TypeString:
		return wireString, "a string or enum (the feature is string)"
	case TypeBool:
		return wireBool, "boolean (the feature is bool)"
	case TypeInt32, TypeInt64:
		return wireInteger, "an integer (the feature is " + describe(f) + ")"
	}
	return wireNumber, "a number (the feature is " + describe(f) + ")"
}

// appendValidUTF8 appends s to dst with each byte that is not part of a
// valid UTF-8 sequence replaced by U+FFFD, as encoding/json reads a string,
// so a string feature holds the same text whichever decoder read it.
func appendValidUTF8(dst, s []byte) []byte {
	if utf8.Valid(s) {
		return append(dst, s...)
	}
	for len(s) > 0 {
		r, size := utf8.DecodeRune(s)
		if r == utf8.RuneError && size == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, s[:size]...)
		}
		s = s[size:]
	}
	return dst
}
