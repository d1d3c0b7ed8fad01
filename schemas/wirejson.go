package schemas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// WireJSON renders Confluent-framed Avro and Protobuf values as JSON, for
// reading a binary topic (streamscore consume). It keeps each schema it
// met. It is not safe for concurrent use.
type WireJSON struct {
	src   SchemaSource
	avro  map[int]*anode
	proto map[int]protoreflect.FileDescriptor
	raw   map[int][]byte
}

// NewWireJSON returns a renderer that finds writer schemas in src.
func NewWireJSON(src SchemaSource) *WireJSON {
	return &WireJSON{src: src, avro: map[int]*anode{}, proto: map[int]protoreflect.FileDescriptor{}, raw: map[int][]byte{}}
}

// UndecodableKey is the one key of the object Render prints for a value it
// cannot decode; its value says why.
const UndecodableKey = "streamscore.undecodable"

// Render returns the event in the framed value v as one JSON object, as
// JSON does, or, for a value it cannot decode, the object
// {"streamscore.undecodable": why}: a reader of the topic sees every record.
func (w *WireJSON) Render(ctx context.Context, v []byte) []byte {
	js, err := w.JSON(ctx, v)
	if err != nil {
		b, _ := json.Marshal(map[string]string{UndecodableKey: err.Error()})
		return b
	}
	return js
}

// JSON returns the event in the framed value v as one JSON object.
func (w *WireJSON) JSON(ctx context.Context, v []byte) ([]byte, error) {
	id, body, err := ParseFrame(v)
	if err != nil {
		return nil, err
	}
	if n, ok := w.avro[id]; ok {
		return w.avroJSON(n, body)
	}
	if _, ok := w.proto[id]; ok {
		return ProtoToJSON(w.raw[id], body)
	}
	ws, err := w.src.Schema(ctx, id)
	if err != nil {
		return nil, err
	}
	switch {
	case ws.Type == SchemaTypeAvro:
		s, err := ParseAvro(ws.Text)
		if err != nil {
			return nil, fmt.Errorf("parsing schema %d: %w", id, err)
		}
		n, err := avroNode(s, 0)
		if err != nil {
			return nil, fmt.Errorf("reading schema %d: %w", id, err)
		}
		w.avro[id] = n
		return w.avroJSON(n, body)
	case ws.Type == SchemaTypeProtobuf && len(ws.Descriptors) > 0:
		fd, err := FileDescriptorSet(ws.Descriptors)
		if err != nil {
			return nil, err
		}
		w.proto[id], w.raw[id] = fd, ws.Descriptors
		return ProtoToJSON(ws.Descriptors, body)
	}
	return nil, fmt.Errorf("schema %d (%s) cannot be read here: a Protobuf schema needs its FileDescriptorSet in registry.files", id, ws.Type)
}

func (w *WireJSON) avroJSON(n *anode, body []byte) ([]byte, error) {
	r := avroReader{b: body}
	out, ok := r.appendJSON(nil, n, 0)
	if !ok {
		return nil, errors.New(r.err)
	}
	if r.i != len(body) {
		return nil, fmt.Errorf("%d bytes after the record", len(body)-r.i)
	}
	return out, nil
}
