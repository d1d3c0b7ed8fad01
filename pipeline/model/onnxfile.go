package model

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// FileInfo is what an .onnx file says about itself in its ModelProto header:
// versions, producer, opsets, metadata, and a census of the graph. ReadFileInfo
// reads it without ONNX Runtime.
type FileInfo struct {
	// IRVersion is the ONNX IR version (ModelProto.ir_version).
	IRVersion int64
	// Opsets are the operator sets the model imports, in file order; the
	// default domain is written "ai.onnx".
	Opsets []Opset
	// ProducerName and ProducerVersion name the tool that wrote the file.
	ProducerName, ProducerVersion string
	// Domain and ModelVersion are the model's own namespace and version
	// number, if the producer set them.
	Domain       string
	ModelVersion int64
	// DocString is the model's description.
	DocString string
	// Metadata holds the model's metadata_props (key → value).
	Metadata map[string]string
	// GraphName is the main graph's name.
	GraphName string
	// Nodes counts the graph's nodes; Ops counts them per operator type
	// ("domain:op" for a domain other than the default).
	Nodes int
	Ops   map[string]int
	// Initializers counts the graph's constant tensors (weights) and
	// Parameters the values they hold; ExternalData says whether any of them
	// is stored outside the file.
	Initializers int
	Parameters   int64
	ExternalData bool
}

// Opset is one imported operator set.
type Opset struct {
	Domain  string
	Version int64
}

// String formats o as "ai.onnx 17".
func (o Opset) String() string { return fmt.Sprintf("%s %d", o.Domain, o.Version) }

// OpsetVersion returns the version of the default ("ai.onnx") operator set,
// or 0 if the model does not import it.
func (f *FileInfo) OpsetVersion() int64 {
	for _, o := range f.Opsets {
		if o.Domain == "ai.onnx" {
			return o.Version
		}
	}
	return 0
}

// OpNames returns the operator types in the graph, sorted.
func (f *FileInfo) OpNames() []string {
	return slices.Sorted(maps.Keys(f.Ops))
}

// ModelProto, GraphProto, NodeProto, TensorProto, OperatorSetIdProto and
// StringStringEntryProto field numbers (onnx/onnx.proto).
const (
	fieldModelIRVersion       = 1
	fieldModelProducerName    = 2
	fieldModelProducerVersion = 3
	fieldModelDomain          = 4
	fieldModelVersion         = 5
	fieldModelDocString       = 6
	fieldModelGraph           = 7
	fieldModelOpsetImport     = 8
	fieldModelMetadataProps   = 14

	fieldGraphNode        = 1
	fieldGraphName        = 2
	fieldGraphInitializer = 5

	fieldNodeOpType = 4
	fieldNodeDomain = 7

	fieldTensorDims         = 1
	fieldTensorDataLocation = 14

	fieldOpsetDomain  = 1
	fieldOpsetVersion = 2

	fieldEntryKey   = 1
	fieldEntryValue = 2
)

// Protocol buffer wire types.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

// errNotONNX wraps every failure to read a file as an ONNX ModelProto.
var errNotONNX = errors.New("not an ONNX model (ModelProto)")

// ReadFileInfo parses the ModelProto in data (an .onnx file's bytes) far
// enough to fill a FileInfo. It reads only the protocol buffer framing, so
// it works without ONNX Runtime and on models ONNX Runtime would refuse.
func ReadFileInfo(data []byte) (FileInfo, error) {
	info := FileInfo{Metadata: map[string]string{}, Ops: map[string]int{}}
	err := eachField(data, func(num int, wire int, v uint64, b []byte) error {
		switch {
		case num == fieldModelIRVersion && wire == wireVarint:
			info.IRVersion = int64(v)
		case num == fieldModelProducerName && wire == wireBytes:
			info.ProducerName = string(b)
		case num == fieldModelProducerVersion && wire == wireBytes:
			info.ProducerVersion = string(b)
		case num == fieldModelDomain && wire == wireBytes:
			info.Domain = string(b)
		case num == fieldModelVersion && wire == wireVarint:
			info.ModelVersion = int64(v)
		case num == fieldModelDocString && wire == wireBytes:
			info.DocString = string(b)
		case num == fieldModelGraph && wire == wireBytes:
			return readGraph(b, &info)
		case num == fieldModelOpsetImport && wire == wireBytes:
			o := Opset{}
			err := eachField(b, func(num, wire int, v uint64, b []byte) error {
				switch {
				case num == fieldOpsetDomain && wire == wireBytes:
					o.Domain = string(b)
				case num == fieldOpsetVersion && wire == wireVarint:
					o.Version = int64(v)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("opset_import: %w", err)
			}
			if o.Domain == "" {
				o.Domain = "ai.onnx"
			}
			info.Opsets = append(info.Opsets, o)
		case num == fieldModelMetadataProps && wire == wireBytes:
			var k, val string
			err := eachField(b, func(num, wire int, _ uint64, b []byte) error {
				switch {
				case num == fieldEntryKey && wire == wireBytes:
					k = string(b)
				case num == fieldEntryValue && wire == wireBytes:
					val = string(b)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("metadata_props: %w", err)
			}
			info.Metadata[k] = val
		}
		return nil
	})
	if err != nil {
		return FileInfo{}, fmt.Errorf("reading ONNX header: %w: %w", errNotONNX, err)
	}
	if info.IRVersion == 0 || len(info.Opsets) == 0 {
		return FileInfo{}, fmt.Errorf("reading ONNX header: %w: it has no ir_version or no opset_import", errNotONNX)
	}
	return info, nil
}

func readGraph(b []byte, info *FileInfo) error {
	return eachField(b, func(num, wire int, _ uint64, b []byte) error {
		switch {
		case num == fieldGraphName && wire == wireBytes:
			info.GraphName = string(b)
		case num == fieldGraphNode && wire == wireBytes:
			var op, domain string
			err := eachField(b, func(num, wire int, _ uint64, b []byte) error {
				switch {
				case num == fieldNodeOpType && wire == wireBytes:
					op = string(b)
				case num == fieldNodeDomain && wire == wireBytes:
					domain = string(b)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("graph node: %w", err)
			}
			if domain != "" && domain != "ai.onnx" {
				op = domain + ":" + op
			}
			info.Nodes++
			info.Ops[op]++
		case num == fieldGraphInitializer && wire == wireBytes:
			n := int64(1)
			err := eachField(b, func(num, wire int, v uint64, b []byte) error {
				switch {
				case num == fieldTensorDims && wire == wireVarint:
					n *= int64(v)
				case num == fieldTensorDims && wire == wireBytes: // packed
					for len(b) > 0 {
						d, k := binary.Uvarint(b)
						if k <= 0 {
							return errors.New("bad packed dims")
						}
						n *= int64(d)
						b = b[k:]
					}
				case num == fieldTensorDataLocation && wire == wireVarint && v == 1:
					info.ExternalData = true
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("graph initializer: %w", err)
			}
			info.Initializers++
			info.Parameters += n
		}
		return nil
	})
}

// eachField calls fn for every field of the protocol buffer message in b:
// v holds a varint or fixed value, b a length-delimited one (aliasing the
// input). It stops at the first error.
func eachField(b []byte, fn func(num, wire int, v uint64, b []byte) error) error {
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 {
			return errors.New("bad field tag")
		}
		b = b[n:]
		num, wire := int(tag>>3), int(tag&7)
		if num == 0 {
			return errors.New("field number 0")
		}
		var (
			v   uint64
			val []byte
		)
		switch wire {
		case wireVarint:
			v, n = binary.Uvarint(b)
			if n <= 0 {
				return fmt.Errorf("field %d: bad varint", num)
			}
			b = b[n:]
		case wireFixed64:
			if len(b) < 8 {
				return fmt.Errorf("field %d: truncated", num)
			}
			v = binary.LittleEndian.Uint64(b)
			b = b[8:]
		case wireFixed32:
			if len(b) < 4 {
				return fmt.Errorf("field %d: truncated", num)
			}
			v = uint64(binary.LittleEndian.Uint32(b))
			b = b[4:]
		case wireBytes:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return fmt.Errorf("field %d: bad length", num)
			}
			val = b[n : n+int(l)]
			b = b[n+int(l):]
		default:
			return fmt.Errorf("field %d: unsupported wire type %d", num, wire)
		}
		if err := fn(num, wire, v, val); err != nil {
			return err
		}
	}
	return nil
}
