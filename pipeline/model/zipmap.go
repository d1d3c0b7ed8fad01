package model

import (
	"fmt"
	"slices"
	"strconv"

	ort "github.com/yalue/onnxruntime_go"
)

// convertZipMap reads a ZipMap output (scikit-learn converters' default for
// classifier probabilities): a sequence of one map per row, from class
// (int64 or string) to probability. Every row must have the same classes in
// the same order; they become Keys, and each row's probabilities Values.
func convertZipMap(name string, seq *ort.Sequence, rows int) (Output, error) {
	maps, err := seq.GetValues()
	if err != nil {
		return Output{}, err
	}
	if len(maps) != rows {
		return Output{}, fmt.Errorf("the sequence holds %d values for a batch of %d rows; want one map per row", len(maps), rows)
	}
	o := Output{Name: name, Type: "map"}
	for r, v := range maps {
		mp, ok := v.(*ort.Map)
		if !ok {
			return Output{}, fmt.Errorf("it is a sequence of %s, not of maps (a ZipMap)", v.GetONNXType())
		}
		kv, vv, err := mp.GetKeysAndValues()
		if err != nil {
			return Output{}, err
		}
		keys, err := mapKeys(kv)
		if err != nil {
			return Output{}, err
		}
		if r == 0 {
			o.Keys = keys
			o.Width = len(keys)
			o.Values = make([]float64, 0, rows*o.Width)
		} else if !slices.Equal(keys, o.Keys) {
			return Output{}, fmt.Errorf("row %d's map has keys %v, row 0's %v; a ZipMap has the same classes in every row", r, keys, o.Keys)
		}
		switch t := vv.(type) {
		case *ort.Tensor[float32]:
			for _, p := range t.GetData() {
				o.Values = append(o.Values, float64(p))
			}
		case *ort.Tensor[float64]:
			o.Values = append(o.Values, t.GetData()...)
		default:
			return Output{}, fmt.Errorf("its map values are %T; streamscore reads float32 or float64 maps", vv)
		}
		if len(o.Values) != (r+1)*o.Width {
			return Output{}, fmt.Errorf("row %d's map has %d keys and a different number of values", r, len(keys))
		}
	}
	if rows == 0 {
		o.Values = []float64{}
	}
	o.Type = "float32"
	return o, nil
}

func mapKeys(v ort.Value) ([]string, error) {
	switch t := v.(type) {
	case *ort.Tensor[int64]:
		data := t.GetData()
		keys := make([]string, len(data))
		for i, k := range data {
			keys[i] = strconv.FormatInt(k, 10)
		}
		return keys, nil
	case *ort.StringTensor:
		return t.GetContents()
	}
	return nil, fmt.Errorf("its map keys are %T; streamscore reads int64 or string keys", v)
}
