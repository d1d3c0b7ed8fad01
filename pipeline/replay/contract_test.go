package replay

import (
	"bufio"
	"os"
	"path/filepath"
	"testing"

	"github.com/streamscore/streamscore/schemas/contracts"
)

// Every row replay --out writes, labelled or not, two models side by side,
// is what schemas/contracts/replay-out.v1.json publishes.
func TestReplayRowsKeepTheirContract(t *testing.T) {
	dir := t.TempDir()
	in := writeJSONL(t, dir, "events.jsonl", makeEvents(300, 7))
	out := filepath.Join(dir, "scored.jsonl")
	replayFiles(t, []string{in}, out, nil)
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		if err := contracts.Validate(contracts.ReplayOutV1, sc.Bytes()); err != nil {
			t.Fatalf("row %d %s: %v", n, sc.Bytes(), err)
		}
	}
	if err := sc.Err(); err != nil || n == 0 {
		t.Fatalf("read %d rows: %v", n, err)
	}
}
