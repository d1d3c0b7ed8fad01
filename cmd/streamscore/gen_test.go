package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/pipeline/rowfile"
	"github.com/streamscore/streamscore/schemas"
)

// runGen runs `streamscore gen args...` and returns its standard output.
func runGen(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	return runCommand(newGenCmd(), args...)
}

// runCommand runs cmd with args in process and returns what it printed
// (standard output and error together).
func runCommand(cmd *cobra.Command, args ...string) ([]byte, error) {
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	// A nil slice would make cobra read os.Args, the test binary's flags.
	cmd.SetArgs(append([]string{}, args...))
	err := cmd.Execute()
	return out.Bytes(), err
}

// genDecoded decodes values with spec's decoder and returns the feature
// matrix of the good ones and the indexes of the dead letters.
func genDecoded(t *testing.T, spec *schemas.Spec, values [][]byte) ([]float32, []int) {
	t.Helper()
	msgs := make([]schemas.Message, len(values))
	for i, v := range values {
		msgs[i] = schemas.Message{Value: v, Offset: int64(i)}
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	d := schemas.NewDecoder(spec, mem).Decode(msgs)
	feats := slices.Clone(d.Features())
	var dead []int
	for _, e := range d.Errors {
		dead = append(dead, e.Index)
	}
	d.Release()
	mem.AssertSize(t, 0)
	return feats, dead
}

func loadSpec(t *testing.T, path string) *schemas.Spec {
	t.Helper()
	s, err := schemas.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestGenFormats writes the same seed's events as JSONL, as Avro and
// Protobuf wire-format values and as Avro container files, and checks the
// decoders read the same features from each, and the malformed events are
// dead letters in the same places.
func TestGenFormats(t *testing.T) {
	root := filepath.Join("..", "..")
	common := []string{"--n", "400", "--seed", "9", "--users", "50"}
	jsonl, err := runGen(t, append(common, "--bad-ratio", "0.05")...)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(jsonl, []byte("\n")), []byte("\n"))
	want, wantDead := genDecoded(t, loadSpec(t, filepath.Join(root, "testdata/linear.schema.yaml")), lines)
	if len(lines) != 400 || len(wantDead) == 0 {
		t.Fatalf("%d lines, %d dead letters", len(lines), len(wantDead))
	}

	for _, tc := range []struct{ format, spec, id string }{
		{"avro", "testdata/formats/payments.avro.yaml", "1"},
		{"protobuf", "testdata/formats/payments.protobuf.yaml", "3"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			spec := filepath.Join(root, tc.spec)
			out, err := runGen(t, append(common, "--bad-ratio", "0.05", "--format", tc.format, "--schema", spec, "--schema-id", tc.id)...)
			if err != nil {
				t.Fatal(err)
			}
			var values [][]byte
			for len(out) >= 4 {
				n := int(binary.BigEndian.Uint32(out))
				values = append(values, out[4:4+n])
				out = out[4+n:]
			}
			if len(values) != 400 || len(out) != 0 {
				t.Fatalf("%d values and %d bytes left", len(values), len(out))
			}
			if id, _, err := schemas.ParseFrame(values[0]); err != nil || id != map[string]int{"1": 1, "3": 3}[tc.id] {
				t.Fatalf("first value's frame: id %d, %v", id, err)
			}
			got, dead := genDecoded(t, loadSpec(t, spec), values)
			if !slices.Equal(dead, wantDead) || !slices.Equal(got, want) {
				t.Fatalf("%s: dead letters %v, JSON's %v; features equal: %v", tc.format, dead, wantDead, slices.Equal(got, want))
			}
		})
	}

	// Avro container files, with the sample schema and with a registry's.
	jsonGood, err := runGen(t, common...)
	if err != nil {
		t.Fatal(err)
	}
	good := bytes.Split(bytes.TrimSuffix(jsonGood, []byte("\n")), []byte("\n"))
	wantGood, _ := genDecoded(t, loadSpec(t, filepath.Join(root, "testdata/linear.schema.yaml")), good)
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"null", []string{"--codec", "null"}},
		{"deflate", nil},
		{"snappy", []string{"--codec", "snappy"}},
		{"registry schema", []string{"--format", "avro", "--schema", filepath.Join(root, "testdata/formats/payments.avro.yaml"), "--schema-id", "1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".avro")
			if _, err := runGen(t, append(append(common, "--out", path), tc.args...)...); err != nil {
				t.Fatal(err)
			}
			// Rows through replay's path: each row as the JSON object of its
			// columns, then the JSON decoder.
			var rows [][]byte
			err := rowfile.Records(t.Context(), path, nil, 128, func(rec arrow.Record) error {
				for i := range int(rec.NumRows()) {
					b := []byte{'{'}
					for c, f := range rec.Schema().Fields() {
						if c > 0 {
							b = append(b, ',')
						}
						b = schemas.AppendString(b, f.Name)
						b = append(b, ':')
						b = rowfile.ValueAt(rec.Column(c), i).AppendJSON(b)
					}
					rows = append(rows, append(b, '}'))
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			got, dead := genDecoded(t, loadSpec(t, filepath.Join(root, "testdata/linear.schema.yaml")), rows)
			if len(rows) != 400 || len(dead) != 0 || !slices.Equal(got, wantGood) {
				t.Fatalf("%d rows, dead letters %v, features equal: %v", len(rows), dead, slices.Equal(got, wantGood))
			}
		})
	}
}

// TestGenFlagErrors checks wrong flag combinations fail before anything
// is written, saying what to fix.
func TestGenFlagErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "csv"}, `"csv" is not json, avro or protobuf`},
		{[]string{"--format", "avro"}, "needs --schema-id"},
		{[]string{"--format", "protobuf", "--schema-id", "3"}, "--format protobuf needs --schema FILE"},
		{[]string{"--out", filepath.Join(dir, "x.avro"), "--bad-ratio", "0.1"}, "cannot hold malformed rows"},
		{[]string{"--out", filepath.Join(dir, "x.avro"), "--format", "protobuf"}, "use --format avro"},
		{[]string{"--out", filepath.Join(dir, "x.avro"), "--codec", "lz4"}, `"lz4" is not null, deflate, snappy or zstandard`},
		{[]string{"--schema-id", "4"}, "go with --format avro|protobuf"},
		{[]string{"--format", "avro", "--schema-id", "99", "--schema", filepath.Join("..", "..", "testdata/formats/payments.avro.yaml")}, "--schema-id 99"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := runGen(t, append([]string{"--n", "10"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "x.avro")); err == nil {
		t.Fatal("a refused gen created its --out file")
	}
}
