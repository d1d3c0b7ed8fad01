package replay

import "fmt"

// FailOn conditions (replay --fail-on): a replay that shows one fails its
// check.
const (
	FailOnDeadLetters = "dead-letters" // any event was dead-lettered
	FailOnUnlabeled   = "unlabeled"    // with a label, a scored row had none readable
)

// CheckFailOn returns an error naming the first of conds that is not a
// FailOn condition.
func CheckFailOn(conds []string) error {
	for _, c := range conds {
		if c != FailOnDeadLetters && c != FailOnUnlabeled {
			return fmt.Errorf("--fail-on %q: write dead-letters or unlabeled", c)
		}
	}
	return nil
}

// FailOn returns an error saying what rep shows of the first condition of
// conds it meets, or nil when it meets none.
func FailOn(conds []string, rep *Report) error {
	for _, c := range conds {
		var dead int
		for _, d := range rep.DeadLetters {
			dead += d.Count
		}
		switch {
		case c == FailOnDeadLetters && dead > 0:
			return fmt.Errorf("--fail-on dead-letters: %d of %d events were dead-lettered", dead, rep.Events)
		case c == FailOnUnlabeled && rep.Label != "" && rep.Labeled < rep.Scored:
			return fmt.Errorf("--fail-on unlabeled: %d of %d scored rows have no readable %s", rep.Scored-rep.Labeled, rep.Scored, rep.Label)
		}
	}
	return nil
}
