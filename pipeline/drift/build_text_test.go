package drift

import (
	"bytes"
	"strings"
	"testing"
)

func TestBuildResultWriteText(t *testing.T) {
	b := &Baseline{Rows: 10}
	for _, tc := range []struct {
		name string
		r    BuildResult
		want string
	}{
		{"plain", BuildResult{Baseline: b},
			"baseline base.json (id " + b.ID() + "): 10 rows from 2 file(s)\n"},
		{"skipped and dropped", BuildResult{Baseline: b, Skipped: 3, Dropped: []string{"score"}},
			"baseline base.json (id " + b.ID() + "): 10 rows from 2 file(s), 3 rows skipped (not JSON objects)\n" +
				"no prediction baseline for [score]: the files lack those fields; pass --model to score the rows\n"},
	} {
		var buf, sum bytes.Buffer
		if err := tc.r.WriteText(&buf, "base.json", 2); err != nil {
			t.Fatal(err)
		}
		if err := b.WriteSummary(&sum); err != nil {
			t.Fatal(err)
		}
		got, ok := strings.CutSuffix(buf.String(), sum.String())
		if !ok || got != tc.want {
			t.Errorf("%s: WriteText wrote\n%s\nwant\n%s%s", tc.name, buf.String(), tc.want, sum.String())
		}
	}
}
