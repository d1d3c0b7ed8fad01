package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The README runner (readme_integration_test.go) runs every ```sh and
// ```bash block of README.md, in order. A block that cannot run in a test
// carries a marker on the line before its fence (blank lines between are
// allowed):
//
//	<!-- readme-runner: skip (why) -->        not run; counted and printed
//	<!-- readme-runner: background (why) -->  started, left running while the
//	                                          blocks after it run, then stopped
//	                                          with SIGTERM; it must exit 0
//
// The reason is required.

// readmeBlock is one shell block of README.md.
type readmeBlock struct {
	line   int    // line of the opening fence, from 1
	lang   string // sh or bash
	text   string
	mark   string // "", "skip" or "background"
	reason string
}

var readmeMarker = regexp.MustCompile(`^<!--\s*readme-runner:\s*(\S+)\s*(?:\((.*)\))?\s*-->$`)

// readmeBlocks returns the shell blocks of a Markdown text, with their
// markers. A marker that is malformed, has no reason, or is not followed by
// a shell block is an error.
func readmeBlocks(md string) ([]readmeBlock, error) {
	lines := strings.Split(md, "\n")
	var (
		out     []readmeBlock
		pending *readmeBlock // a marker waiting for its block
		pendAt  int
	)
	for i := 0; i < len(lines); i++ {
		ln := strings.TrimSpace(lines[i])
		if m := readmeMarker.FindStringSubmatch(ln); m != nil {
			if pending != nil {
				return nil, fmt.Errorf("README.md:%d: a readme-runner marker follows the one at line %d with no shell block between", i+1, pendAt)
			}
			if m[1] != "skip" && m[1] != "background" {
				return nil, fmt.Errorf("README.md:%d: readme-runner marker %q: want skip or background", i+1, m[1])
			}
			if strings.TrimSpace(m[2]) == "" {
				return nil, fmt.Errorf("README.md:%d: readme-runner %s marker without a reason: write <!-- readme-runner: %s (why) -->", i+1, m[1], m[1])
			}
			pending, pendAt = &readmeBlock{mark: m[1], reason: strings.TrimSpace(m[2])}, i+1
			continue
		}
		if strings.Contains(ln, "readme-runner") {
			return nil, fmt.Errorf("README.md:%d: malformed readme-runner marker %q: write <!-- readme-runner: skip (why) -->", i+1, ln)
		}
		if !strings.HasPrefix(ln, "```") {
			if pending != nil && ln != "" {
				return nil, fmt.Errorf("README.md:%d: the readme-runner marker at line %d is not followed by a shell block", i+1, pendAt)
			}
			continue
		}
		lang := strings.TrimSpace(strings.TrimPrefix(ln, "```"))
		start := i
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, lines[i])
		}
		if i == len(lines) {
			return nil, fmt.Errorf("README.md:%d: code block never closed", start+1)
		}
		if lang != "sh" && lang != "bash" {
			if pending != nil {
				return nil, fmt.Errorf("README.md:%d: the readme-runner marker at line %d is followed by a %q block, not sh or bash", start+1, pendAt, lang)
			}
			continue
		}
		b := readmeBlock{line: start + 1, lang: lang, text: strings.Join(body, "\n") + "\n"}
		if pending != nil {
			b.mark, b.reason = pending.mark, pending.reason
			pending = nil
		}
		out = append(out, b)
	}
	if pending != nil {
		return nil, fmt.Errorf("README.md:%d: the readme-runner marker is not followed by a shell block", pendAt)
	}
	return out, nil
}

func TestReadmeBlocksParse(t *testing.T) {
	md := "# t\n\n<!-- readme-runner: skip (needs apt) -->\n```sh\nmake demo\n```\n\n```json\n{}\n```\n" +
		"```bash\necho a\necho b\n```\n<!-- readme-runner: background (a server) -->\n\n```sh\nserve\n```\n"
	bs, err := readmeBlocks(md)
	if err != nil {
		t.Fatal(err)
	}
	want := []readmeBlock{
		{line: 4, lang: "sh", text: "make demo\n", mark: "skip", reason: "needs apt"},
		{line: 11, lang: "bash", text: "echo a\necho b\n"},
		{line: 17, lang: "sh", text: "serve\n", mark: "background", reason: "a server"},
	}
	if fmt.Sprint(bs) != fmt.Sprint(want) {
		t.Fatalf("blocks = %+v\nwant     %+v", bs, want)
	}
	for _, bad := range []struct{ md, want string }{
		{"<!-- readme-runner: skip -->\n```sh\nx\n```\n", "without a reason"},
		{"<!-- readme-runner: later (x) -->\n```sh\nx\n```\n", "want skip or background"},
		{"<!-- readme-runner: skip (x) -->\ntext\n```sh\nx\n```\n", "not followed by a shell block"},
		{"<!-- readme-runner: skip (x) -->\n```yaml\nx\n```\n", "not sh or bash"},
		{"<!-- readme-runner skip (x) -->\n```sh\nx\n```\n", "malformed"},
		{"```sh\nx\n", "never closed"},
	} {
		if _, err := readmeBlocks(bad.md); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("readmeBlocks(%q) = %v, want an error saying %q", bad.md, err, bad.want)
		}
	}
}

// TestReadmeMarkers checks README.md's own markers without running it.
func TestReadmeMarkers(t *testing.T) {
	md, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	bs, err := readmeBlocks(string(md))
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) == 0 {
		t.Fatal("README.md has no sh or bash block")
	}
}
