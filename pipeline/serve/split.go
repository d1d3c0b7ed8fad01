package serve

import (
	"errors"
	"fmt"
)

// splitEvents returns the events in body: the body itself when it is one
// JSON object (single is true), or each element of a top-level JSON array.
// It checks only the framing (brackets, strings, commas); each event's own
// JSON is checked by the decoder, which reports a bad event as that event's
// error. The returned slices alias body.
func splitEvents(body []byte, maxEvents int) (events [][]byte, single bool, err error) {
	i := skipSpace(body, 0)
	if i == len(body) {
		return nil, false, errors.New("the body is empty: send a JSON event object or an array of them")
	}
	switch body[i] {
	case '{':
		end, err := valueEnd(body, i)
		if err != nil {
			return nil, false, err
		}
		if j := skipSpace(body, end); j != len(body) {
			return nil, false, fmt.Errorf("unexpected %q after the event at byte %d: send one object or an array", body[j], j)
		}
		return [][]byte{body[i:end]}, true, nil
	case '[':
	default:
		return nil, false, fmt.Errorf("the body starts with %q: send a JSON event object or an array of them", body[i])
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == ']' {
		if j := skipSpace(body, i+1); j != len(body) {
			return nil, false, fmt.Errorf("unexpected %q after the array at byte %d", body[j], j)
		}
		return nil, false, errors.New("the array is empty: send at least one event")
	}
	for {
		if len(events) == maxEvents {
			return nil, false, fmt.Errorf("more than %d events in one request: split it", maxEvents)
		}
		end, err := valueEnd(body, i)
		if err != nil {
			return nil, false, err
		}
		events = append(events, body[i:end])
		i = skipSpace(body, end)
		if i == len(body) {
			return nil, false, errors.New("the array is not closed: a ']' is missing")
		}
		switch body[i] {
		case ',':
			i = skipSpace(body, i+1)
		case ']':
			if j := skipSpace(body, i+1); j != len(body) {
				return nil, false, fmt.Errorf("unexpected %q after the array at byte %d", body[j], j)
			}
			return events, false, nil
		default:
			return nil, false, fmt.Errorf("unexpected %q at byte %d: array elements are separated by ','", body[i], i)
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the end of the JSON value starting at b[i]: a matched
// object or array (brackets counted outside strings), a string, or a
// scalar (up to the next delimiter).
func valueEnd(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errors.New("the body ends where an event should start")
	}
	switch b[i] {
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := stringEnd(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, fmt.Errorf("the value at byte %d is not closed", i)
	case '"':
		return stringEnd(b, i)
	case ',', ']', '}', ':':
		return 0, fmt.Errorf("unexpected %q at byte %d: an event is missing", b[i], i)
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != ']' && b[j] != '}' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j, nil
}

// stringEnd returns the index after the closing quote of the string at b[i].
func stringEnd(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("the string at byte %d is not closed", i)
}
