package model

import "github.com/streamscore/streamscore/schemas"

// NewVersion is what model register records about a new version besides
// its file.
type NewVersion struct {
	Name, Version, Description string
	// Meanings are "output=text" items (see Manifest.SetMeanings).
	Meanings []string
	// Threshold, if not nil, is the decision threshold on the first output.
	Threshold *float64
	// Golden, if set, is the golden file copied in, checked at every load
	// within Tolerance (zero: the default).
	Golden    string
	Tolerance float64
}

// RegisterVersion writes file into r as nv's version, with a manifest
// binding it to spec, and returns the version's folder (see
// Registry.Register).
func (r Registry) RegisterVersion(file string, spec *schemas.Spec, nv NewVersion) (string, error) {
	man := Manifest{Name: nv.Name, Version: nv.Version, Description: nv.Description, Schema: spec.String(), Binding: BindingFor(spec), Threshold: nv.Threshold}
	if err := man.SetMeanings(nv.Meanings); err != nil {
		return "", err
	}
	if nv.Golden != "" {
		man.Golden = &GoldenRef{File: nv.Golden, Tolerance: nv.Tolerance}
	}
	return r.Register(file, man)
}
