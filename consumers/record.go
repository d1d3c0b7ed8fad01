package consumers

import (
	"encoding/json"
	"io"

	"github.com/streamscore/streamscore/schemas"
)

// WriteRecord writes m as one line to w: its value as is, or, withHeaders,
// a JSON object with its partition, offset, key, headers and value.
func WriteRecord(w io.Writer, m schemas.Message, withHeaders bool) error {
	if !withHeaders {
		if _, err := w.Write(m.Value); err != nil {
			return err
		}
		_, err := w.Write([]byte{'\n'})
		return err
	}
	hs := map[string]string{}
	for _, h := range m.Headers {
		hs[h.Key] = string(h.Value)
	}
	rec := struct {
		Partition int               `json:"partition"`
		Offset    int64             `json:"offset"`
		Key       string            `json:"key"`
		Headers   map[string]string `json:"headers"`
		Value     string            `json:"value"`
	}{m.Partition, m.Offset, string(m.Key), hs, string(m.Value)}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
