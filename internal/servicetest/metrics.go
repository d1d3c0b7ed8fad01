package servicetest

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// Metrics is one scrape of a Prometheus text exposition: each sample's
// series, as printed (name and labels, such as
// `streamscore_serve_requests_total{code="200"}`), mapped to its value.
type Metrics map[string]float64

// Scrape GETs url (a /metrics page) and parses it; it fails tb on an
// error or a status other than 200.
func Scrape(tb testing.TB, url string) Metrics {
	tb.Helper()
	res, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		tb.Fatalf("GET %s: %s: %s", url, res.Status, b)
	}
	m, err := ParseMetrics(res.Body)
	if err != nil {
		tb.Fatalf("reading %s: %v", url, err)
	}
	return m
}

// ParseMetrics parses a Prometheus text exposition. Comments and lines
// without a value are skipped.
func ParseMetrics(r io.Reader) (Metrics, error) {
	out := Metrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out, sc.Err()
}

// Sum returns the sum of every series of the metric name, whatever its
// labels; 0 if there is none.
func (m Metrics) Sum(name string) float64 {
	var s float64
	for series, v := range m {
		if series == name || strings.HasPrefix(series, name+"{") {
			s += v
		}
	}
	return s
}

// Sums returns every metric name mapped to the sum of its series.
func (m Metrics) Sums() map[string]float64 {
	out := map[string]float64{}
	for series, v := range m {
		name, _, _ := strings.Cut(series, "{")
		out[name] += v
	}
	return out
}
