package console

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

//go:embed assets
var assets embed.FS

// TokenCookie is the cookie the page sets when the console asks for a token.
const TokenCookie = "streamscore_token"

// Options are what the console reads besides the metrics.
type Options struct {
	// Command names the subcommand serving it ("run", "serve").
	Command string
	// Ready reports readiness as /readyz does: nil, or the reason it is not
	// ready. Nil means always ready.
	Ready func() error
	// Token is the bearer token RequireToken asks for.
	Token []byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives refused calls; nil discards.
	Log *slog.Logger
}

// Console serves the live page and its JSON. Create it with New, mount it
// with Routes, and run Run so it samples the metrics for rates and
// sparklines. Its methods are safe for concurrent use.
type Console struct {
	cfg  Config
	g    prometheus.Gatherer
	opts Options
	sum  [sha256.Size]byte

	mu   sync.Mutex
	ring []*sample // oldest first, at most cfg.History
}

// New returns a console over g's metrics. It fails when cfg is invalid or
// RequireToken is set without a token.
func New(cfg Config, g prometheus.Gatherer, opts Options) (*Console, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.RequireToken && len(opts.Token) == 0 {
		return nil, errors.New("console.require_token: no token to require: turn on model.admin (its token guards the console too) or set console.require_token: false")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Ready == nil {
		opts.Ready = func() error { return nil }
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Console{cfg: cfg, g: g, opts: opts, sum: sha256.Sum256(opts.Token)}, nil
}

// Routes mounts GET / (the page), its assets under /console/, and GET
// /api/status on mux.
func (c *Console) Routes(mux *http.ServeMux) {
	sub, _ := fs.Sub(assets, "assets")
	files := http.FileServerFS(sub)
	mux.Handle("GET /{$}", c.auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t := r.URL.Query().Get("token"); t != "" && c.cfg.RequireToken {
			http.SetCookie(w, &http.Cookie{Name: TokenCookie, Value: t, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		}
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'")
		http.ServeFileFS(w, r, sub, "index.html")
	}), true))
	mux.Handle("GET /console/", http.StripPrefix("/console/", files))
	mux.Handle("GET /api/status", c.auth(http.HandlerFunc(c.serveStatus), false))
}

// auth enforces RequireToken: a bearer token or the cookie (page also
// accepts ?token= once, which sets the cookie).
func (c *Console) auth(next http.Handler, page bool) http.Handler {
	if !c.cfg.RequireToken {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			if ck, err := r.Cookie(TokenCookie); err == nil {
				tok, ok = ck.Value, true
			}
		}
		if !ok && page {
			tok, ok = r.URL.Query().Get("token"), r.URL.Query().Has("token")
		}
		sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
		if !ok || subtle.ConstantTimeCompare(sum[:], c.sum[:]) != 1 {
			c.opts.Log.Warn("console call refused: missing or wrong token", "path", r.URL.Path, "remote", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", `Bearer realm="streamscore console"`)
			if page {
				http.Error(w, "the console needs the admin token: open /?token=<token> once", http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"a valid bearer token is required"}` + "\n"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Run samples the metrics every Refresh until ctx is done.
func (c *Console) Run(ctx context.Context) {
	t := time.NewTicker(c.cfg.Refresh)
	defer t.Stop()
	c.Sample()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.Sample()
		}
	}
}

// Sample reads the metrics once and remembers them for rates and
// sparklines. Run calls it every Refresh; tests call it directly.
func (c *Console) Sample() {
	mfs, err := c.g.Gather()
	if err != nil && len(mfs) == 0 {
		c.opts.Log.Warn("console: gathering metrics", "err", err)
		return
	}
	_, s := read(mfs, c.opts.Now().UnixMilli())
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ring = append(c.ring, s)
	if n := len(c.ring) - c.cfg.History; n > 0 {
		c.ring = append(c.ring[:0], c.ring[n:]...)
	}
}

// Status reads the metrics now and returns the document /api/status serves.
// Rates are over the interval since the newest sample at least half a
// Refresh old.
func (c *Console) Status() (*Status, error) {
	mfs, err := c.g.Gather()
	if err != nil && len(mfs) == 0 {
		return nil, err
	}
	now := c.opts.Now()
	st, cur := read(mfs, now.UnixMilli())
	st.Command = c.opts.Command
	st.RefreshMS = c.cfg.Refresh.Milliseconds()
	if err := c.opts.Ready(); err != nil {
		st.Ready = Ready{OK: false, Reason: err.Error()}
	} else {
		st.Ready = Ready{OK: true}
	}
	c.mu.Lock()
	hist := c.ring
	cut := cur.at - c.cfg.Refresh.Milliseconds()/2
	for len(hist) > 0 && hist[len(hist)-1].at > cut {
		hist = hist[:len(hist)-1]
	}
	hist = append([]*sample(nil), hist...)
	c.mu.Unlock()
	finish(st, cur, hist)
	return st, nil
}

func (c *Console) serveStatus(w http.ResponseWriter, _ *http.Request) {
	st, err := c.Status()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		json.NewEncoder(w).Encode(map[string]string{"error": "gathering metrics: " + err.Error()})
		return
	}
	json.NewEncoder(w).Encode(st)
}
