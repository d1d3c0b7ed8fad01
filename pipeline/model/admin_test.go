package model

import (
	"crypto/sha256"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestAdminAuth(t *testing.T) {
	token := "the-right-token-0123456789"
	a := &Admin{tokenSum: sha256.Sum256([]byte(token)), log: slog.New(slog.DiscardHandler)}
	h := a.auth(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	for _, tc := range []struct {
		header string
		code   int
	}{
		{"", 401},
		{"Bearer", 401},
		{"Bearer " + token[:10], 401},
		{"Basic " + token, 401},
		{"Bearer " + token + "x", 401},
		{"Bearer " + token, 204},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/admin/models", nil)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		h.ServeHTTP(rec, req)
		if rec.Code != tc.code {
			t.Errorf("Authorization %q: %d, want %d", tc.header, rec.Code, tc.code)
		}
		if rec.Code == 401 && rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("401 without WWW-Authenticate")
		}
	}
}
