package yamlerr_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/streamscore/streamscore/internal/yamlerr"
)

type inner struct {
	Name string        `yaml:"name"`
	Wait time.Duration `yaml:"wait"`
}

type doc struct {
	Items []inner          `yaml:"items"`
	Ids   map[int]string   `yaml:"ids"`
	On    bool             `yaml:"on"`
	Sub   inner            `yaml:"sub"`
	More  map[string]inner `yaml:"more"`
}

const text = `items:
  - name: a
  - {name: b, wiat: 2s}
ids: {1: x, two: y}
on: maybe
sub:
  wait: soon
more:
  m: {nmae: z}
`

func source(t *testing.T) *yamlerr.Source {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(text), &root); err != nil {
		t.Fatal(err)
	}
	return &yamlerr.Source{File: "f.yaml", Root: &root}
}

func TestCheckReportsEveryProblem(t *testing.T) {
	var got []string
	for _, p := range source(t).Check(reflect.TypeFor[doc]()) {
		got = append(got, p.Error())
	}
	want := []string{
		"f.yaml:3:15: items[1].wiat: unknown key; did you mean wait?",
		`f.yaml:4:13: ids.two: expected a key that is an integer, got "two"`,
		`f.yaml:5:5: on: expected true or false, got "maybe"`,
		`f.yaml:7:9: sub.wait: expected a duration such as 20ms, 1.5s or 2m, got "soon"`,
		"f.yaml:9:7: more.m.nmae: unknown key; did you mean name?",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Check:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLocate(t *testing.T) {
	s := source(t)
	for path, want := range map[string][2]int{
		"items[1].name": {3, 12}, // a scalar: its value
		"items[1]":      {3, 5},  // a list element: the element
		"sub":           {6, 1},  // a mapping: its key
		"more.m.nmae":   {9, 13},
	} {
		line, col, ok := s.Locate(path)
		if !ok || line != want[0] || col != want[1] {
			t.Errorf("Locate(%q) = %d, %d, %v; want %d, %d", path, line, col, ok, want[0], want[1])
		}
	}
	for _, path := range []string{"items[2]", "absent", "on.x", "items.name", "sub[0]"} {
		if _, _, ok := s.Locate(path); ok {
			t.Errorf("Locate(%q) found a place, want none", path)
		}
	}
}

func TestProblemError(t *testing.T) {
	for _, tc := range []struct {
		p    yamlerr.Problem
		want string
	}{
		{yamlerr.Problem{File: "f.yaml", Line: 2, Column: 3, Key: "a.b", Msg: "bad"}, "f.yaml:2:3: a.b: bad"},
		{yamlerr.Problem{File: "f.yaml", Key: "a", Msg: "required"}, "f.yaml: a: required"},
		{yamlerr.Problem{Line: 2, Column: 3, Key: "a", Msg: "bad"}, "line 2, column 3: a: bad"},
		{yamlerr.Problem{Msg: "bad"}, "bad"},
	} {
		if got := tc.p.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestKeyOf(t *testing.T) {
	for line, want := range map[string]string{
		"feature_sets[0].features[2].name: required":  "feature_sets[0].features[2].name",
		"http.addr is not a host:port":                "http.addr",
		"registry.cert_file and registry.key_file: x": "",
		"Something else":                              "",
	} {
		if got := yamlerr.KeyOf(line); got != want {
			t.Errorf("KeyOf(%q) = %q, want %q", line, got, want)
		}
	}
}

func TestTabsAndSyntax(t *testing.T) {
	src := []byte("a: 1\n\tb: 2\n")
	probs := yamlerr.Tabs("f.yaml", src)
	var root yaml.Node
	err := yaml.Unmarshal(src, &root)
	if err == nil {
		t.Fatal("a tab parsed")
	}
	probs = yamlerr.SyntaxOrTab(probs, "f.yaml", err, src)
	if got, want := yamlerr.Join(probs).Error(), "f.yaml:2:1: tabs are not allowed in YAML; use spaces"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
