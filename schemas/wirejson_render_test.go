package schemas_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/streamscore/streamscore/schemas"
)

func TestWireJSONRender(t *testing.T) {
	ctx := context.Background()
	spec := loadSpec(t, "../testdata/formats/payments.avro.yaml")
	r := schemas.NewWireJSON(spec.SchemaSource())
	m := encodeAll(t, spec, idPayments, paymentEvents(1))[0]
	want, err := r.JSON(ctx, m.Value)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Render(ctx, m.Value); !bytes.Equal(got, want) {
		t.Errorf("Render of a good value = %s, want %s", got, want)
	}

	for _, bad := range [][]byte{[]byte("{\"not\":\"framed\"}"), schemas.AppendFrame(nil, 9999)} {
		_, jerr := r.JSON(ctx, bad)
		if jerr == nil {
			t.Fatalf("JSON(%q) did not fail", bad)
		}
		got := r.Render(ctx, bad)
		var obj map[string]string
		if err := json.Unmarshal(got, &obj); err != nil {
			t.Fatalf("Render(%q) = %q: not a JSON object: %v", bad, got, err)
		}
		if len(obj) != 1 || obj[schemas.UndecodableKey] != jerr.Error() {
			t.Errorf("Render(%q) = %s, want only %s: %q", bad, got, schemas.UndecodableKey, jerr)
		}
	}
}
