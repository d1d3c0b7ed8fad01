package model

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamscore/streamscore/schemas"
)

func TestRegisterVersion(t *testing.T) {
	spec, err := schemas.Load("../../testdata/linear.schema.yaml")
	if err != nil {
		t.Fatal(err)
	}
	reg := Registry{Root: t.TempDir()}
	threshold := 0.8
	nv := NewVersion{Name: "fraud", Version: "3", Description: "trained on May", Meanings: []string{"score=probability of fraud"}, Threshold: &threshold}
	dir, err := reg.RegisterVersion("../../testdata/models/linear.onnx", spec, nv)
	if err != nil {
		t.Fatal(err)
	}
	if dir != filepath.Join(reg.Root, "fraud", "3") {
		t.Fatalf("folder %s", dir)
	}
	man, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if man.Description != nv.Description || man.Threshold == nil || *man.Threshold != 0.8 || man.Golden != nil || man.Schema != spec.String() {
		t.Fatalf("manifest %+v; want the description, threshold 0.8, no golden file and the schema", man)
	}
	if len(man.Binding.Outputs) != 1 || man.Binding.Outputs[0].Meaning != "probability of fraud" {
		t.Fatalf("outputs %+v; want score meaning probability of fraud", man.Binding.Outputs)
	}

	// A meaning that names no output registers nothing.
	nv.Version, nv.Meanings = "4", []string{"nope=what"}
	if _, err := reg.RegisterVersion("../../testdata/models/linear.onnx", spec, nv); err == nil || !strings.Contains(err.Error(), `"nope=what"`) {
		t.Fatalf("RegisterVersion = %v; want an error naming the meaning", err)
	}
	if _, err := os.Stat(filepath.Join(reg.Root, "fraud", "4")); !os.IsNotExist(err) {
		t.Fatalf("version 4 exists after a refused registration (%v)", err)
	}
}
