package servicetest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const exposition = `# HELP streamscore_serve_requests_total Requests.
# TYPE streamscore_serve_requests_total counter
streamscore_serve_requests_total{code="200"} 7
streamscore_serve_requests_total{code="400"} 2
streamscore_serve_batch_rows_sum 1.5e+06
streamscore_serve_batch_rows_count 3
streamscore_serve_requests_total_other 100
broken_line_without_value
`

func TestScrape(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(exposition))
	}))
	defer srv.Close()
	m := Scrape(t, srv.URL)
	for _, tc := range []struct {
		name string
		got  float64
		want float64
	}{
		{"series with labels", m[`streamscore_serve_requests_total{code="200"}`], 7},
		{"series without labels", m["streamscore_serve_batch_rows_sum"], 1.5e6},
		{"sum over labels", m.Sum("streamscore_serve_requests_total"), 9},
		{"sum of a longer name is apart", m.Sum("streamscore_serve_requests_total_other"), 100},
		{"sums by name", m.Sums()["streamscore_serve_requests_total"], 9},
		{"absent", m.Sum("nope"), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
	if len(m) != 5 {
		t.Fatalf("parsed %d series, want 5: %v", len(m), m)
	}
}

func TestLogs(t *testing.T) {
	var l Logs
	l.Write([]byte(`{"msg":"starting"}` + "\n"))
	if LoggedAddr(l.String(), "http_addr") != "" || Assigned(l.String()) {
		t.Fatal("found an address or an assignment in logs that hold none")
	}
	l.Write([]byte(`{"msg":"assigned partitions","partitions":[]}` + "\n"))
	if Assigned(l.String()) {
		t.Fatal("an empty assignment counts as assigned")
	}
	l.Write([]byte(`{"msg":"serving","http_addr":"127.0.0.1:4242"}` + "\n" + `{"msg":"assigned partitions","partitions":["in/0"]}` + "\n"))
	if got := WaitAddr(t, &l, "http_addr", time.Second); got != "127.0.0.1:4242" {
		t.Fatalf("WaitAddr = %q", got)
	}
	WaitAssigned(t, time.Second, &l)
	if got := Tail(strings.Repeat("x", 10)+"end", 3); got != "...end" {
		t.Fatalf("Tail = %q", got)
	}
}
