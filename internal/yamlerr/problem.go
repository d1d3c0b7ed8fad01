package yamlerr

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// A Problem is one thing wrong with a YAML file, where it is and what to
// write instead. Its Error reads as a compiler's does:
//
//	streamscore.yaml:12:3: model.sesions: unknown key; did you mean sessions?
//
// Without a File, a position is written as "line L, column C: ".
type Problem struct {
	File   string
	Line   int // 1-based; 0 when the key is not in the file
	Column int // 1-based; 0 when unknown
	Key    string
	Msg    string
}

func (p Problem) Error() string {
	var b strings.Builder
	switch {
	case p.File != "":
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
			if p.Column > 0 {
				fmt.Fprintf(&b, ":%d", p.Column)
			}
		}
		b.WriteString(": ")
	case p.Line > 0:
		fmt.Fprintf(&b, "line %d", p.Line)
		if p.Column > 0 {
			fmt.Fprintf(&b, ", column %d", p.Column)
		}
		b.WriteString(": ")
	}
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Join returns probs as one error, one problem a line, or nil if there
// are none.
func Join(probs []Problem) error {
	errs := make([]error, len(probs))
	for i, p := range probs {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// Sort orders probs by position in the file, those without one last,
// keeping the order of problems at the same place.
func Sort(probs []Problem) {
	sort.SliceStable(probs, func(i, j int) bool {
		a, b := probs[i], probs[j]
		return a.Line != 0 && (b.Line == 0 || a.Line < b.Line || a.Line == b.Line && a.Column < b.Column)
	})
}

// Tabs reports each line of src indented with a tab, which YAML forbids.
func Tabs(file string, src []byte) []Problem {
	var probs []Problem
	for i, line := range strings.Split(string(src), "\n") {
		for j, c := range line {
			if c == '\t' {
				probs = append(probs, Problem{File: file, Line: i + 1, Column: j + 1, Msg: "tabs are not allowed in YAML; use spaces"})
				break
			}
			if c != ' ' {
				break
			}
		}
	}
	return probs
}

var yamlErrLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// Syntax turns a yaml.v3 parse error into a Problem at its line, quoting
// that line of src.
func Syntax(file string, err error, src []byte) Problem {
	msg := err.Error()
	m := yamlErrLine.FindStringSubmatch(msg)
	if m == nil {
		return Problem{File: file, Msg: strings.TrimPrefix(msg, "yaml: ")}
	}
	n, _ := strconv.Atoi(m[1])
	lines := strings.Split(string(src), "\n")
	p := Problem{File: file, Line: n, Msg: m[2]}
	if n >= 1 && n <= len(lines) {
		p.Msg += fmt.Sprintf(" (%s)", strings.TrimSpace(lines[n-1]))
	}
	return p
}

// SyntaxOrTab is Syntax's problem, unless probs (from Tabs) already hold
// a tab on its line, which is the cause: then it returns probs unchanged.
func SyntaxOrTab(probs []Problem, file string, err error, src []byte) []Problem {
	p := Syntax(file, err, src)
	for _, t := range probs {
		if t.Line == p.Line {
			return probs
		}
	}
	return append(probs, p)
}

// Suggest returns the known key closest to key, if it is close enough to
// be a typo, else "".
func Suggest(key string, known []string) string {
	best, bestD := "", 0
	for _, k := range known {
		d := EditDistance(strings.ToLower(key), k)
		if best == "" || d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	limit := max(1, min(3, len(key)/3))
	if bestD <= limit || strings.ReplaceAll(strings.ToLower(key), "-", "_") == best {
		return best
	}
	return ""
}

// EditDistance is the Levenshtein distance between a and b, a swap of
// neighbours counting as one edit (nmae is one edit from name).
func EditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// d[i][j] is the distance between ra[:i] and rb[:j].
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

var leadingKey = regexp.MustCompile(`^([a-z][a-z0-9_]*(?:\[\d+\])*(?:\.[a-z0-9_]+(?:\[\d+\])*)*)(?:: | is )`)

// KeyOf returns the key path a message line starts with ("a.b[0].c: ..."
// or "a.b is ..."), or "" if it starts with none.
func KeyOf(line string) string {
	if m := leadingKey.FindStringSubmatch(line); m != nil {
		return m[1]
	}
	return ""
}
