package ops

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestEndpoints(t *testing.T) {
	notReady := errors.New("waiting for a broker")
	for _, tc := range []struct {
		name string
		cfg  Config
		path string
		code int
		body string
	}{
		{"metrics", Config{}, "/metrics", 200, "streamscore_build_info"},
		{"ready by default", Config{}, "/readyz", 200, "ready"},
		{"not ready", Config{Ready: func() error { return notReady }}, "/readyz", 503, "not ready: waiting for a broker"},
		{"healthy by default", Config{Ready: func() error { return notReady }}, "/healthz", 200, "ok"},
		{"unhealthy", Config{Healthy: func() error { return errors.New("commits stalled") }}, "/healthz", 503, "unhealthy: commits stalled"},
		{"no pprof", Config{}, "/debug/pprof/", 404, ""},
		{"pprof", Config{Pprof: true}, "/debug/pprof/", 200, "goroutine"},
		{"routes", Config{Routes: []func(*http.ServeMux){nil, func(m *http.ServeMux) {
			m.HandleFunc("GET /v1/x", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("mounted")) })
		}}}, "/v1/x", 200, "mounted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Registry = NewRegistry("test", "abc")
			rec := httptest.NewRecorder()
			tc.cfg.mux().ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.body) {
				t.Fatalf("GET %s = %d %q, want %d holding %q", tc.path, rec.Code, rec.Body.String(), tc.code, tc.body)
			}
		})
	}
}

func TestServeFailsOnABadAddress(t *testing.T) {
	_, err := Serve(Config{Addr: "nonsense", Registry: prometheus.NewRegistry()}, nil)
	if err == nil || !strings.Contains(err.Error(), "http.addr") {
		t.Fatalf("Serve = %v, want an error naming http.addr", err)
	}
}
