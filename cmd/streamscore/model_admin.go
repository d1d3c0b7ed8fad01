package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/streamscore/streamscore/pipeline/model"
)

// adminAPI serves the model admin endpoints:
//
//	GET  /admin/models                    the active lineup and the registry's versions
//	POST /admin/models/{name}/activate    {"version": "2", "role": "champion"|"canary"|"challenger", "fraction": 0.1}
//	POST /admin/models/{name}/deactivate  {"role": "canary"|"challenger"}
//
// Every call needs "Authorization: Bearer <token>". An activation loads,
// validates and warms the version up before it swaps it in between batches;
// a refused version answers 422 with the reason, and the lineup is
// unchanged.
type adminAPI struct {
	router   *model.Router
	deployer *model.Deployer // nil when the model is not in a registry
	name     string
	tokenSum [sha256.Size]byte
	log      *slog.Logger
}

func (a *adminAPI) routes(mux *http.ServeMux) {
	mux.Handle("GET /admin/models", a.auth(http.HandlerFunc(a.status)))
	mux.Handle("POST /admin/models/{name}/activate", a.auth(http.HandlerFunc(a.activate)))
	mux.Handle("POST /admin/models/{name}/deactivate", a.auth(http.HandlerFunc(a.deactivate)))
}

// auth checks the bearer token in constant time (comparing sha256 sums, so
// neither content nor length leaks through timing).
func (a *adminAPI) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
		if !ok || subtle.ConstantTimeCompare(sum[:], a.tokenSum[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="streamscore admin"`)
			a.log.Warn("admin call refused: missing or wrong bearer token", "path", r.URL.Path, "remote", r.RemoteAddr)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "a valid bearer token is required"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

type modelStatus struct {
	Version  string  `json:"version"`
	SHA256   string  `json:"sha256,omitempty"`
	Path     string  `json:"path"`
	Fraction float64 `json:"fraction,omitempty"`
}

func describeModel(m *model.Model, fraction float64) *modelStatus {
	if m == nil {
		return nil
	}
	s := &modelStatus{Version: m.Version(), Path: m.Path(), Fraction: fraction}
	if man := m.Manifest(); man != nil {
		s.SHA256 = man.SHA256
	}
	return s
}

func (a *adminAPI) status(w http.ResponseWriter, _ *http.Request) {
	l := a.router.Lineup()
	out := struct {
		Model      string       `json:"model"`
		Registry   string       `json:"registry,omitempty"`
		Versions   []string     `json:"versions,omitempty"`
		Active     string       `json:"registry_active,omitempty"`
		Champion   *modelStatus `json:"champion"`
		Canary     *modelStatus `json:"canary,omitempty"`
		Challenger *modelStatus `json:"challenger,omitempty"`
	}{
		Model: a.name, Champion: describeModel(l.Champion, 0),
		Canary: describeModel(l.Canary, l.CanaryFraction), Challenger: describeModel(l.Challenger, 0),
	}
	if a.deployer != nil {
		reg := a.deployer.Registry()
		out.Registry = reg.Root
		out.Versions, _ = reg.Versions(a.name)
		out.Active, _ = reg.Active(a.name)
	}
	writeJSON(w, http.StatusOK, out)
}

type activateRequest struct {
	Version  string  `json:"version"`
	Role     string  `json:"role"`
	Fraction float64 `json:"fraction"`
}

// readRequest decodes a small JSON body into v.
func readRequest(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("reading the request: %w", err)
	}
	return nil
}

func (a *adminAPI) checkTarget(w http.ResponseWriter, r *http.Request) bool {
	if name := r.PathValue("name"); name != a.name {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("this process serves model %q, not %q", a.name, name)})
		return false
	}
	if a.deployer == nil {
		writeJSON(w, http.StatusConflict, map[string]string{"error": "the model was loaded from a plain file: point model.path at a registry (models/<name>) to activate versions"})
		return false
	}
	return true
}

func (a *adminAPI) activate(w http.ResponseWriter, r *http.Request) {
	if !a.checkTarget(w, r) {
		return
	}
	var req activateRequest
	if err := readRequest(r, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error() + `: send {"version": "2"} (and "role": "canary", "fraction": 0.1, or "role": "challenger")`})
		return
	}
	if req.Version == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `"version" is required`})
		return
	}
	role := model.Role(req.Role)
	if role == "" {
		role = model.RoleChampion
	}
	act, err := a.deployer.Activate(r.Context(), role, req.Version, req.Fraction)
	if err != nil {
		var refused *model.RefusedError
		code := http.StatusInternalServerError
		if errors.As(err, &refused) {
			code = http.StatusUnprocessableEntity
		}
		writeJSON(w, code, map[string]string{"error": err.Error()})
		return
	}
	out := map[string]any{"model": a.name, "role": act.Role, "version": act.Version, "unchanged": act.Unchanged}
	if act.Role == model.RoleCanary {
		out["fraction"] = act.Fraction
	}
	if man := act.Report.Manifest; man != nil {
		out["sha256"] = man.SHA256
		out["open_ms"] = float64(act.Report.Open.Microseconds()) / 1000
		out["warmup_ms"] = float64(act.Report.Warmup.Microseconds()) / 1000
		out["golden_rows"] = act.Report.GoldenRows
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *adminAPI) deactivate(w http.ResponseWriter, r *http.Request) {
	if !a.checkTarget(w, r) {
		return
	}
	var req activateRequest
	if err := readRequest(r, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error() + `: send {"role": "canary"} or {"role": "challenger"}`})
		return
	}
	if err := a.deployer.Deactivate(r.Context(), model.Role(req.Role)); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"model": a.name, "removed": req.Role})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}
