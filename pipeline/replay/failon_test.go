package replay

import (
	"strings"
	"testing"
)

func TestFailOn(t *testing.T) {
	rep := &Report{Events: 10, Scored: 8, Label: "is_fraud", Labeled: 7,
		DeadLetters: []ReasonCount{{Reason: "invalid_json", Count: 1}, {Reason: "type_mismatch", Count: 1}}}
	clean := &Report{Events: 10, Scored: 10, Label: "is_fraud", Labeled: 10}
	tests := []struct {
		name  string
		conds []string
		rep   *Report
		want  string // the error names this; "" for none
	}{
		{"no conditions", nil, rep, ""},
		{"dead letters", []string{FailOnDeadLetters}, rep, "2 of 10 events were dead-lettered"},
		{"unlabeled", []string{FailOnUnlabeled}, rep, "1 of 8 scored rows have no readable is_fraud"},
		{"clean", []string{FailOnDeadLetters, FailOnUnlabeled}, clean, ""},
		{"unlabeled without a label", []string{FailOnUnlabeled}, &Report{Scored: 3}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := FailOn(tc.conds, tc.rep)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("FailOn = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("FailOn = %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

func TestCheckFailOn(t *testing.T) {
	if err := CheckFailOn([]string{FailOnDeadLetters, FailOnUnlabeled}); err != nil {
		t.Fatal(err)
	}
	if err := CheckFailOn([]string{"dead-letters", "slow"}); err == nil || !strings.Contains(err.Error(), `"slow"`) {
		t.Fatalf("CheckFailOn = %v; want an error naming \"slow\"", err)
	}
}
