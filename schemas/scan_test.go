package schemas

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// numberSeeds are number texts at the edges of the fast conversions.
var numberSeeds = []string{
	"0", "-0", "1", "-1", "0.5", "0.4913", "-1.234", "1.234e-05", "1E+10", "9e-1",
	"16777216", "16777217", "16777217.5", "0.123456789", "3.4028235e38", "3.5e38",
	"9007199254740992", "9007199254740993", "1e22", "1e23", "1e-22", "1e-23",
	"1234567890123456789", "12345678901234567890", "0.00000000000000000001234",
	"0.1234567890123456789012", "1e9999", "1e10000", "1.", "-", "01", "1e", "1e+",
	"123456789012345678.9", "4.9406564584124654e-324", "1.17549435e-38",
	"1.90711909532547", "9.600070476531982", "-62.36801338195801", // float64 rounds them to float32 midpoints
}

// FuzzFastFloat checks that whenever decimal and the fast conversions
// accept a number, they give exactly strconv.ParseFloat's value, and that
// decimal reads the same text as number.
func FuzzFastFloat(f *testing.F) {
	for _, s := range numberSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s := scanner{b: []byte(text)}
		mant, exp, neg, ok := s.decimal()
		if !ok {
			if s.i != 0 {
				t.Fatalf("decimal(%q) failed but moved to %d", text, s.i)
			}
			return
		}
		end := s.i
		n := scanner{b: []byte(text)}
		if txt, nonStd, ok := n.number(); !ok || nonStd || n.i != end {
			t.Fatalf("decimal(%q) read %d bytes, number reads %q (ok %v)", text, end, txt, ok)
		}
		num := text[:end]
		if v, ok := fastFloat32(mant, exp, neg); ok {
			want, err := strconv.ParseFloat(num, 32)
			if err != nil || math.Float32bits(v) != math.Float32bits(float32(want)) {
				t.Fatalf("fastFloat32(%q) = %v, strconv says %v (%v)", num, v, float32(want), err)
			}
		}
		if v, ok := fastFloat64(mant, exp, neg); ok {
			want, err := strconv.ParseFloat(num, 64)
			if err != nil || math.Float64bits(v) != math.Float64bits(want) {
				t.Fatalf("fastFloat64(%q) = %v, strconv says %v (%v)", num, v, want, err)
			}
		}
	})
}

// TestDigits8 compares digits8 (and digitsLead, where a digit leads) with a byte-by-byte reading on words built
// from digits and the bytes around them, every non-digit byte included.
func TestDigits8(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pick := func() byte {
		if rng.IntN(4) == 0 {
			return byte(rng.IntN(256))
		}
		return '0' + byte(rng.IntN(10))
	}
	for range 200000 {
		var w [8]byte
		for j := range w {
			w[j] = pick()
		}
		var want uint64
		n := 0
		for n < 8 && w[n] >= '0' && w[n] <= '9' {
			want = want*10 + uint64(w[n]-'0')
			n++
		}
		v, gotN := digits8(binary.LittleEndian.Uint64(w[:]))
		if gotN != n || v != want {
			t.Fatalf("digits8(%q) = %d, %d; want %d, %d", w[:], v, gotN, want, n)
		}
		if n == 0 {
			continue
		}
		if v, gotN := digitsLead(binary.LittleEndian.Uint64(w[:])); int(gotN) != n || v != want {
			t.Fatalf("digitsLead(%q) = %d, %d; want %d, %d", w[:], v, gotN, want, n)
		}
	}
}

// TestAppendJSONString checks the JSON strings the binary formats write
// for passthrough fields: valid JSON that reads back as the value (invalid
// UTF-8 as U+FFFD), plain ASCII copied as it is, before and after the
// characters that need escaping.
func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{
		"", "acme", "m\"1", `back\slash`, "tab\there", "\x00\x1f\x7f", "café", "日本", "a\xffb", "\xc3", "ascii then \n newline", "€ first, then ascii",
	} {
		got := appendJSONString([]byte("prefix:"), []byte(s))
		if !bytes.HasPrefix(got, []byte("prefix:")) {
			t.Fatalf("%q: the prefix was overwritten: %q", s, got)
		}
		js := got[len("prefix:"):]
		var back string
		if err := json.Unmarshal(js, &back); err != nil {
			t.Errorf("%q: %s is not a JSON string: %v", s, js, err)
			continue
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); back != want {
			t.Errorf("%q: %s reads back as %q, want %q", s, js, back, want)
		}
	}
	if got := string(appendJSONString(nil, []byte("merchant-42 (ok)"))); got != `"merchant-42 (ok)"` {
		t.Errorf("plain ASCII written as %s", got)
	}
}
