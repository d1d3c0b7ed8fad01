package contracts

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// undocumented walks a schema's object properties and lists those without
// a description, and optional ones whose description does not begin with
// "Optional".
func undocumented(t *testing.T, raw []byte) []string {
	t.Helper()
	var root map[string]any
	if err := json.Unmarshal(raw, &root); err != nil {
		t.Fatal(err)
	}
	var bad []string
	var walk func(path string, node map[string]any)
	walk = func(path string, node map[string]any) {
		var required []string
		if r, ok := node["required"].([]any); ok {
			for _, x := range r {
				required = append(required, x.(string))
			}
		}
		props, _ := node["properties"].(map[string]any)
		for k, v := range props {
			p := v.(map[string]any)
			d, _ := p["description"].(string)
			switch {
			case d == "":
				bad = append(bad, path+"."+k+" has no description")
			case !slices.Contains(required, k) && !strings.HasPrefix(d, "Optional"):
				bad = append(bad, path+"."+k+" is optional but its description does not say so")
			}
			walk(path+"."+k, p)
		}
	}
	walk("$", root)
	return bad
}
