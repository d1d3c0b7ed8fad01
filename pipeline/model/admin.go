package model

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
)

// Admin serves the model admin endpoints:
//
//	GET  /admin/models                    the active lineup and the registry's versions
//	POST /admin/models/{name}/activate    {"version": "2", "role": "champion"|"canary"|"challenger", "fraction": 0.1}
//	POST /admin/models/{name}/deactivate  {"role": "canary"|"challenger"}
//
// Every call needs "Authorization: Bearer <token>". An activation loads,
// validates and warms the version up before it swaps it in between batches;
// a refused version answers 422 with the reason, and the lineup is
// unchanged.
//
// It is safe for concurrent use.
type Admin struct {
	router   *Router
	deployer *Deployer // nil when the model is not in a registry
	name     string
	tokenSum [sha256.Size]byte
	log      *slog.Logger
}

// NewAdmin returns the admin endpoints of router's line-up, guarded by
// token. deployer activates registry versions; nil when the model was
// loaded from a plain file (activations then answer 409).
func NewAdmin(router *Router, deployer *Deployer, token []byte, log *slog.Logger) *Admin {
	return &Admin{router: router, deployer: deployer, name: router.Name(), tokenSum: sha256.Sum256(token), log: log}
}

// Routes adds the admin endpoints to mux.
func (a *Admin) Routes(mux *http.ServeMux) {
	mux.Handle("GET /admin/models", a.auth(http.HandlerFunc(a.status)))
	mux.Handle("POST /admin/models/{name}/activate", a.auth(http.HandlerFunc(a.activate)))
	mux.Handle("POST /admin/models/{name}/deactivate", a.auth(http.HandlerFunc(a.deactivate)))
}

// auth checks the bearer token in constant time (comparing sha256 sums, so
// neither content nor length leaks through timing).
func (a *Admin) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
		if !ok || subtle.ConstantTimeCompare(sum[:], a.tokenSum[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="streamscore admin"`)
			a.log.Warn("admin call refused: missing or wrong bearer token", "path", r.URL.Path, "remote", r.RemoteAddr)
			writeAdminJSON(w, http.StatusUnauthorized, map[string]string{"error": "a valid bearer token is required"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

type adminModelStatus struct {
	Version  string  `json:"version"`
	SHA256   string  `json:"sha256,omitempty"`
	Path     string  `json:"path"`
	Fraction float64 `json:"fraction,omitempty"`
}

func describeForAdmin(m *Model, fraction float64) *adminModelStatus {
	if m == nil {
		return nil
	}
	s := &adminModelStatus{Version: m.Version(), Path: m.Path(), Fraction: fraction}
	if man := m.Manifest(); man != nil {
		s.SHA256 = man.SHA256
	}
	return s
}

func (a *Admin) status(w http.ResponseWriter, _ *http.Request) {
	l := a.router.Lineup()
	out := struct {
		Model      string            `json:"model"`
		Registry   string            `json:"registry,omitempty"`
		Versions   []string          `json:"versions,omitempty"`
		Active     string            `json:"registry_active,omitempty"`
		Champion   *adminModelStatus `json:"champion"`
		Canary     *adminModelStatus `json:"canary,omitempty"`
		Challenger *adminModelStatus `json:"challenger,omitempty"`
	}{
		Model: a.name, Champion: describeForAdmin(l.Champion, 0),
		Canary: describeForAdmin(l.Canary, l.CanaryFraction), Challenger: describeForAdmin(l.Challenger, 0),
	}
	if a.deployer != nil {
		reg := a.deployer.Registry()
		out.Registry = reg.Root
		out.Versions, _ = reg.Versions(a.name)
		out.Active, _ = reg.Active(a.name)
	}
	writeAdminJSON(w, http.StatusOK, out)
}

type adminRequest struct {
	Version  string  `json:"version"`
	Role     string  `json:"role"`
	Fraction float64 `json:"fraction"`
}

// readAdminRequest decodes a small JSON body into v.
func readAdminRequest(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("reading the request: %w", err)
	}
	return nil
}

func (a *Admin) checkTarget(w http.ResponseWriter, r *http.Request) bool {
	if name := r.PathValue("name"); name != a.name {
		writeAdminJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("this process serves model %q, not %q", a.name, name)})
		return false
	}
	if a.deployer == nil {
		writeAdminJSON(w, http.StatusConflict, map[string]string{"error": "the model was loaded from a plain file: point path at a registry (models/<name>) to activate versions"})
		return false
	}
	return true
}

func (a *Admin) activate(w http.ResponseWriter, r *http.Request) {
	if !a.checkTarget(w, r) {
		return
	}
	var req adminRequest
	if err := readAdminRequest(r, &req); err != nil {
		writeAdminJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error() + `: send {"version": "2"} (and "role": "canary", "fraction": 0.1, or "role": "challenger")`})
		return
	}
	if req.Version == "" {
		writeAdminJSON(w, http.StatusBadRequest, map[string]string{"error": `"version" is required`})
		return
	}
	role := Role(req.Role)
	if role == "" {
		role = RoleChampion
	}
	act, err := a.deployer.Activate(r.Context(), role, req.Version, req.Fraction)
	if err != nil {
		var refused *RefusedError
		code := http.StatusInternalServerError
		if errors.As(err, &refused) {
			code = http.StatusUnprocessableEntity
		}
		writeAdminJSON(w, code, map[string]string{"error": err.Error()})
		return
	}
	out := map[string]any{"model": a.name, "role": act.Role, "version": act.Version, "unchanged": act.Unchanged}
	if act.Role == RoleCanary {
		out["fraction"] = act.Fraction
	}
	if man := act.Report.Manifest; man != nil {
		out["sha256"] = man.SHA256
		out["open_ms"] = float64(act.Report.Open.Microseconds()) / 1000
		out["warmup_ms"] = float64(act.Report.Warmup.Microseconds()) / 1000
		out["golden_rows"] = act.Report.GoldenRows
	}
	writeAdminJSON(w, http.StatusOK, out)
}

func (a *Admin) deactivate(w http.ResponseWriter, r *http.Request) {
	if !a.checkTarget(w, r) {
		return
	}
	var req adminRequest
	if err := readAdminRequest(r, &req); err != nil {
		writeAdminJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error() + `: send {"role": "canary"} or {"role": "challenger"}`})
		return
	}
	if err := a.deployer.Deactivate(r.Context(), Role(req.Role)); err != nil {
		writeAdminJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeAdminJSON(w, http.StatusOK, map[string]any{"model": a.name, "removed": req.Role})
}

func writeAdminJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}
