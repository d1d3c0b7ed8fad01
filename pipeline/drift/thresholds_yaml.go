package drift

import (
	"errors"
	"fmt"
	"math"

	"go.yaml.in/yaml/v3"
)

// levelYAML is one score's level as the file writes it: a number (the
// alert level), "off", or {alert, clear}.
type levelYAML struct {
	Alert float64 `yaml:"alert"`
	Clear float64 `yaml:"clear"`
	Off   bool    `yaml:"-"`
}

// UnmarshalYAML accepts a number, "off", or a mapping.
func (l *levelYAML) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		if n.Value == "off" {
			l.Off = true
			return nil
		}
		return n.Decode(&l.Alert)
	}
	type plain levelYAML
	return n.Decode((*plain)(l))
}

// UnmarshalYAML reads thresholds as streamscore.yaml writes them: default
// applies to every column, features overrides per column, and each maps a
// score name (psi, ks, js, wasserstein, chi2, chi2_p, missing) to a level:
//
//	thresholds:
//	  default: {psi: 0.2}                  # alert at 0.2, clear below 0.15
//	  features:
//	    amount: {psi: {alert: 0.3, clear: 0.2}, ks: 0.15}
//	    country: {psi: off, chi2_p: 0.001}
//
// Leaving default out means psi 0.2. A score name or level it cannot read
// does not fail the decoding: Validate reports it with its key.
func (t *Thresholds) UnmarshalYAML(n *yaml.Node) error {
	var raw struct {
		Default  map[string]levelYAML            `yaml:"default"`
		Features map[string]map[string]levelYAML `yaml:"features"`
	}
	if err := n.Decode(&raw); err != nil {
		return err
	}
	var errs []error
	conv := func(where string, m map[string]levelYAML) (map[Score]Threshold, []Score) {
		out := map[Score]Threshold{}
		var off []Score
		for name, l := range m {
			s, err := ParseScore(name)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.%s: %w", where, name, err))
				continue
			}
			if l.Off {
				off = append(off, s)
				continue
			}
			if math.IsNaN(l.Alert) {
				errs = append(errs, fmt.Errorf("%s.%s: alert is not a number", where, name))
			}
			out[s] = Threshold{Alert: l.Alert, Clear: l.Clear}
		}
		return out, off
	}
	*t = Thresholds{Hysteresis: t.Hysteresis}
	if raw.Default != nil {
		def, off := conv("thresholds.default", raw.Default)
		for _, s := range off {
			delete(def, s)
		}
		t.Default = def
	}
	if len(raw.Features) > 0 {
		t.Columns = map[string]ColumnThresholds{}
		for f, m := range raw.Features {
			sc, off := conv("thresholds.features."+f, m)
			t.Columns[f] = ColumnThresholds{Scores: sc, Off: off}
		}
	}
	t.invalid = errors.Join(errs...)
	return nil
}
