package schemas

import (
	"encoding/binary"
	"math"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// scanner is a small, allocation-free JSON reader for one event: the decoder
// reads the top-level object itself and skips (while validating) everything
// the schema does not name. It enforces the string and depth limits as it goes.
type scanner struct {
	b        []byte
	i        int
	maxStr   int
	maxDepth int
	// scratch holds an unescaped string; valid until the next call.
	scratch []byte
	// nonStd is set when number reads NaN, Infinity or -Infinity.
	nonStd bool

	reason Reason
	msg    string
}

func (s *scanner) fail(r Reason, msg string) bool {
	if s.reason == "" {
		s.reason, s.msg = r, msg
	}
	return false
}

func (s *scanner) failAt(r Reason, what string) bool {
	return s.fail(r, what+" at byte "+strconv.Itoa(s.i))
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// skipWS passes over whitespace when there is any; compact JSON has none,
// so the common case is one comparison.
func (s *scanner) skipWS() {
	if s.i < len(s.b) && s.b[s.i] <= ' ' {
		s.ws()
	}
}

// name reads a field name that is expected to be want, the name read at
// the same position of the previous event. want must be plain (no quote,
// backslash or control byte, and no longer than the string limit), so that
// its JSON text is itself: when the input holds exactly "want", name
// passes over it and reports true; otherwise it reads nothing.
func (s *scanner) name(want []byte) bool {
	n := len(want)
	j := s.i + 1 + n
	if j < len(s.b) && s.b[s.i] == '"' && s.b[j] == '"' && string(s.b[s.i+1:j]) == bstr(want) {
		s.i = j + 1
		return true
	}
	return false
}

// plain reports whether a string's JSON text is the string itself.
func plain(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// str reads a JSON string at s.i (which must be '"') and returns its
// unescaped bytes: a subslice of the input when it has no escapes, else
// s.scratch. The result is valid until the next call.
func (s *scanner) str() ([]byte, bool) {
	if s.peek() != '"' {
		return nil, s.failAt(ReasonInvalidJSON, "expected string")
	}
	s.i++
	start := s.i
	// Eight bytes at a time up to the first quote, backslash or control
	// byte (each sets its byte's top bit in m; borrows only reach the
	// bytes after it), then byte by byte from there.
	for s.i+8 <= len(s.b) {
		w := le64(s.b, s.i)
		q := w ^ 0x2222222222222222
		e := w ^ 0x5c5c5c5c5c5c5c5c
		m := ((w-0x2020202020202020)&^w | (q-0x0101010101010101)&^q | (e-0x0101010101010101)&^e) & 0x8080808080808080
		if m != 0 {
			s.i += bits.TrailingZeros64(m) >> 3
			break
		}
		s.i += 8
	}
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c == '"' {
			out := s.b[start:s.i]
			s.i++
			if len(out) > s.maxStr {
				return nil, s.fail(ReasonTooLarge, "string longer than "+strconv.Itoa(s.maxStr)+" bytes")
			}
			return out, true
		}
		if c == '\\' {
			return s.strEscaped(start)
		}
		if c < 0x20 {
			return nil, s.failAt(ReasonInvalidJSON, "control character in string")
		}
		s.i++
	}
	return nil, s.failAt(ReasonInvalidJSON, "unterminated string")
}

func (s *scanner) strEscaped(start int) ([]byte, bool) {
	buf := append(s.scratch[:0], s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			s.scratch = buf
			if len(buf) > s.maxStr {
				return nil, s.fail(ReasonTooLarge, "string longer than "+strconv.Itoa(s.maxStr)+" bytes")
			}
			return buf, true
		case c < 0x20:
			return nil, s.failAt(ReasonInvalidJSON, "control character in string")
		case c != '\\':
			buf = append(buf, c)
			s.i++
			continue
		}
		if s.i+1 >= len(s.b) {
			break
		}
		e := s.b[s.i+1]
		s.i += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return nil, false
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(utf8.RuneError)
				if s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
					next := s.i
					s.i += 2
					lo, ok := s.hex4()
					if !ok {
						return nil, false
					}
					if r2 = utf16.DecodeRune(r, lo); r2 == utf8.RuneError {
						// Not a pair: the second escape stands on its own,
						// as encoding/json reads it.
						s.i = next
					}
				}
				r = r2
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return nil, s.failAt(ReasonInvalidJSON, "invalid escape in string")
		}
	}
	return nil, s.failAt(ReasonInvalidJSON, "unterminated string")
}

func (s *scanner) hex4() (rune, bool) {
	if s.i+4 > len(s.b) {
		return 0, s.failAt(ReasonInvalidJSON, "short \\u escape")
	}
	var r rune
	for _, c := range s.b[s.i : s.i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, s.failAt(ReasonInvalidJSON, "invalid \\u escape")
		}
	}
	s.i += 4
	return r, true
}

// number reads a JSON number and returns its text. It also accepts the
// non-standard NaN, Infinity and -Infinity that some producers (Python's
// json module among them) write; nonStd reports that.
func (s *scanner) number() (text []byte, nonStd bool, ok bool) {
	start := s.i
	if s.peek() == '-' {
		s.i++
	}
	if rest := s.b[s.i:]; len(rest) >= 8 && string(rest[:8]) == "Infinity" {
		s.i += 8
		s.nonStd = true
		return s.b[start:s.i], true, true
	}
	if start == s.i {
		if rest := s.b[s.i:]; len(rest) >= 3 && string(rest[:3]) == "NaN" {
			s.i += 3
			s.nonStd = true
			return s.b[start:s.i], true, true
		}
	}
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.peek() == '0' {
		s.i++
	} else if digits() == 0 {
		return nil, false, s.failAt(ReasonInvalidJSON, "invalid number")
	}
	if s.peek() == '.' {
		s.i++
		if digits() == 0 {
			return nil, false, s.failAt(ReasonInvalidJSON, "invalid number")
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if digits() == 0 {
			return nil, false, s.failAt(ReasonInvalidJSON, "invalid number")
		}
	}
	return s.b[start:s.i], false, true
}

func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	return s.failAt(ReasonInvalidJSON, "invalid literal")
}

// skip validates and passes over one value of any kind. depth is the depth of
// the container holding the value.
func (s *scanner) skip(depth int) bool {
	s.ws()
	switch c := s.peek(); {
	case c == '"':
		_, ok := s.str()
		return ok
	case c == '{' || c == '[':
		if depth+1 > s.maxDepth {
			return s.fail(ReasonTooLarge, "nesting deeper than "+strconv.Itoa(s.maxDepth))
		}
		return s.container(depth + 1)
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || c == 'N' || c == 'I' || (c >= '0' && c <= '9'):
		_, _, ok := s.number()
		return ok
	case c == 0 && s.i >= len(s.b):
		return s.failAt(ReasonInvalidJSON, "unexpected end of input")
	default:
		return s.failAt(ReasonInvalidJSON, "unexpected character "+strconv.QuoteRune(rune(c)))
	}
}

func (s *scanner) container(depth int) bool {
	open := s.b[s.i]
	closer := byte(']')
	if open == '{' {
		closer = '}'
	}
	s.i++
	s.ws()
	if s.peek() == closer {
		s.i++
		return true
	}
	for {
		if open == '{' {
			s.ws()
			if _, ok := s.str(); !ok {
				return false
			}
			s.ws()
			if s.peek() != ':' {
				return s.failAt(ReasonInvalidJSON, "expected ':'")
			}
			s.i++
		}
		if !s.skip(depth) {
			return false
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
		case closer:
			s.i++
			return true
		default:
			return s.failAt(ReasonInvalidJSON, "expected ',' or '"+string(closer)+"'")
		}
	}
}

// bstr views b as a string without copying; the string must not outlive b's
// current contents.
func bstr(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// pow10 and pow10f32 hold the powers of ten that float64 and float32
// represent exactly.
var (
	pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
		1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}
	pow10f32 = [...]float32{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10}
)

// decimal reads a plain JSON number at s.i (no NaN or Infinity) and returns
// its value as ±mant×10^exp, reading the text once. ok is false, and s.i is
// left where it was, when the number is not one decimal can hold exactly (more
// than 19 significant digits, an exponent of 10000 or more) or is not valid
// JSON; the caller then reads it with number, which also reports the error.
func (s *scanner) decimal() (mant uint64, exp int, neg bool, ok bool) {
	mant, exp, neg, end, ok := decimalAt(s.b, s.i)
	if ok {
		s.i = end
	}
	return mant, exp, neg, ok
}

// float64 reads a JSON number as strconv.ParseFloat reads its text with
// bitSize 64, taking the fast conversion when it is exact; a number beyond
// float64's range is ±Inf. ok is false when it is not a valid number (nor
// NaN or Infinity, which it returns as such).
func (s *scanner) float64() (float64, bool) {
	if mant, exp, neg, end, ok := decimalAt(s.b, s.i); ok {
		if v, ok := fastFloat64(mant, exp, neg); ok {
			s.i = end
			return v, true
		}
	}
	txt, _, ok := s.number()
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseFloat(bstr(txt), 64)
	if err != nil && !math.IsInf(v, 0) {
		return math.NaN(), true
	}
	return v, true
}

// decimalAt is decimal for the number at b[i:]; end is where it stops.
func decimalAt(b []byte, i int) (mant uint64, exp int, neg bool, end int, ok bool) {
	i0 := i
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	if i >= len(b) || b[i]-'0' > 9 {
		return 0, 0, neg, 0, false
	}
	// Digits are accumulated without an overflow check: 19 decimal digits
	// always fit in a uint64, and a number with more (counting the
	// fraction's leading zeros) goes to decimalLong, which is rare.
	start := i
	if b[i] == '0' {
		i++
	} else {
		mant, i = digitsAt(b, i, 0)
	}
	n := i - start
	if i < len(b) && b[i] == '.' {
		i++
		frac := i
		mant, i = digitsAt(b, i, mant)
		if i == frac {
			return 0, 0, neg, 0, false
		}
		exp = frac - i
		n += i - frac
	}
	if n > 19 {
		return decimalLong(b, i0)
	}
	if i < len(b) && (b[i]|0x20) == 'e' {
		i++
		eneg := false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			eneg = b[i] == '-'
			i++
		}
		e, digits := 0, i
		for ; i < len(b) && b[i]-'0' <= 9; i++ {
			if i-digits == 4 {
				return 0, 0, neg, 0, false
			}
			e = e*10 + int(b[i]-'0')
		}
		if i == digits {
			return 0, 0, neg, 0, false
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	return mant, exp, neg, i, true
}

// pow10u holds 10^n for the digit counts digits8 returns, and up to 10^15
// for the fraction digits Decoder.fastFields reads in two steps.
var pow10u = [...]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// digitsAt reads the decimal digits at b[i:], appending their value to
// mant (which wraps if there are too many: the caller counts them), and
// returns where they stop. It reads eight bytes at a time where there are
// eight, so that a run of digits costs no branch per digit.
func digitsAt(b []byte, i int, mant uint64) (uint64, int) {
	for i+8 <= len(b) {
		v, n := digits8(binary.LittleEndian.Uint64(b[i:]))
		mant = mant*pow10u[n] + v
		i += n
		if n < 8 {
			return mant, i
		}
	}
	for ; i < len(b) && b[i]-'0' <= 9; i++ {
		mant = mant*10 + uint64(b[i]-'0')
	}
	return mant, i
}

// digits8 returns the count n of leading ASCII digits in the eight bytes of
// w (the first byte in the low bits) and their value v.
func digits8(w uint64) (v uint64, n int) {
	x := w - 0x3030303030303030 // a byte below '0' sets its top bit
	y := w + 0x4646464646464646 // a byte above '9' (up to 0xb9) sets its top bit
	// Carries and borrows start only at a non-digit, so the bytes before the
	// first one are exact; x's top bit also catches bytes from 0xba up.
	n = bits.TrailingZeros64((x|y)&0x8080808080808080) >> 3
	if n == 0 {
		return 0, 0
	}
	// Put the n digits in the top bytes (zeros before them change nothing)
	// and add them pairwise: 2, then 4, then 8 digits per lane.
	x <<= 64 - 8*uint(n)
	x = (x & 0x0f0f0f0f0f0f0f0f) * 2561 >> 8
	x = (x & 0x00ff00ff00ff00ff) * 6553601 >> 16
	return (x & 0x0000ffff0000ffff) * 42949672960001 >> 32, n
}

// digitsLead is digits8 for a word that starts with a digit (n is at
// least 1; v is unspecified when it is not), without digits8's branch.
func digitsLead(w uint64) (v uint64, n uint) {
	x := w - 0x3030303030303030
	y := w + 0x4646464646464646
	n = uint(bits.TrailingZeros64((x|y)&0x8080808080808080)) >> 3
	x <<= (64 - 8*n) & 63
	x = (x & 0x0f0f0f0f0f0f0f0f) * 2561 >> 8
	x = (x & 0x00ff00ff00ff00ff) * 6553601 >> 16
	return (x & 0x0000ffff0000ffff) * 42949672960001 >> 32, n
}

// decimalLong is decimal for numbers with more than 19 digits, which fit
// only when the fraction's leading zeros are not counted.
func decimalLong(b []byte, i int) (mant uint64, exp int, neg bool, end int, ok bool) {
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	if i >= len(b) || b[i]-'0' > 9 {
		return 0, 0, neg, 0, false
	}
	digits := 0
	if b[i] == '0' {
		i++
	} else {
		for ; i < len(b); i++ {
			c := b[i] - '0'
			if c > 9 {
				break
			}
			if digits == 19 {
				return 0, 0, neg, 0, false
			}
			mant = mant*10 + uint64(c)
			digits++
		}
	}
	if i < len(b) && b[i] == '.' {
		i++
		n := 0
		for ; i < len(b); i++ {
			c := b[i] - '0'
			if c > 9 {
				break
			}
			n++
			exp--
			if mant == 0 && c == 0 {
				continue
			}
			if digits == 19 {
				return 0, 0, neg, 0, false
			}
			mant = mant*10 + uint64(c)
			digits++
		}
		if n == 0 {
			return 0, 0, neg, 0, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		eneg := false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			eneg = b[i] == '-'
			i++
		}
		n, e := 0, 0
		for ; i < len(b); i++ {
			c := b[i] - '0'
			if c > 9 {
				break
			}
			if n++; n > 4 {
				return 0, 0, neg, 0, false
			}
			e = e*10 + int(c)
		}
		if n == 0 {
			return 0, 0, neg, 0, false
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	return mant, exp, neg, i, true
}

// fastFloat64 returns ±mant×10^exp rounded to the nearest float64 when that
// takes one exact operation (Clinger's fast path: a significand of at most
// 2^53 and a power of ten float64 holds exactly): what strconv.ParseFloat
// returns for the number's text with bitSize 64. ok is false otherwise.
func fastFloat64(mant uint64, exp int, neg bool) (float64, bool) {
	if mant > 1<<53 {
		return 0, false
	}
	f := float64(mant)
	switch {
	case mant == 0 || exp == 0:
	case exp > 0 && exp < len(pow10):
		f *= pow10[exp]
	case exp < 0 && -exp < len(pow10):
		f /= pow10[-exp]
	default:
		return 0, false
	}
	if neg {
		f = -f
	}
	return f, true
}

// fastFloat32 returns ±mant×10^exp rounded to the nearest float32, what
// strconv.ParseFloat returns with bitSize 32, or ok false when it cannot
// be sure cheaply. A significand below 2^24 with a power of ten float32
// holds exactly takes one float32 operation. Otherwise it rounds
// fastFloat64's result, which is the nearest float32 unless that float64
// lies exactly halfway between two float32s (then ok is false).
func fastFloat32(mant uint64, exp int, neg bool) (float32, bool) {
	if mant < 1<<24 && exp >= -10 && exp <= 10 {
		f := float32(mant)
		if exp < 0 {
			f /= pow10f32[-exp]
		} else {
			f *= pow10f32[exp]
		}
		if neg {
			f = -f
		}
		return f, true
	}
	return fastFloat32Wide(mant, exp, neg)
}

// fastFloat32Wide is fastFloat32 for a significand of 2^24 or more or a
// power of ten beyond 10^±10; Decoder.fastFields takes the other case
// inline and calls it for these.
func fastFloat32Wide(mant uint64, exp int, neg bool) (float32, bool) {
	d, ok := fastFloat64(mant, exp, neg)
	if !ok {
		return 0, false
	}
	f := float32(d)
	if float64(f) == d {
		return f, true
	}
	if e := math.Float64bits(d) >> 52 & 0x7ff; e >= 1023-126 && e < 1023+127 {
		// d is in float32's normal range, below its top binade: it lies
		// halfway between two float32s exactly when, below float32's 23
		// fraction bits, its 29 remaining bits are a one and 28 zeros.
		if math.Float64bits(d)&(1<<29-1) == 1<<28 {
			return 0, false
		}
		return f, true
	}
	g := math.Nextafter32(f, float32(math.Inf(-1)))
	if float64(f) < d {
		g = math.Nextafter32(f, float32(math.Inf(1)))
	}
	if math.IsInf(float64(f), 0) || (float64(f)+float64(g))/2 == d {
		return 0, false
	}
	return f, true
}
