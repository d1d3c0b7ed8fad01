package main

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/schemas"
)

func TestModelConfigValidate(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte("0123456789abcdef0123\n"), 0o600)
	short := filepath.Join(t.TempDir(), "short")
	os.WriteFile(short, []byte("abc"), 0o600)
	tests := []struct {
		name string
		cfg  ModelConfig
		want []string // empty: valid
	}{
		{name: "zero", cfg: ModelConfig{}},
		{name: "everything", cfg: ModelConfig{
			ExecutionProvider: "cuda", Watch: time.Second,
			Canary:     CanaryConfig{Version: "2", Fraction: 0.1},
			Challenger: ChallengerConfig{Version: "3", ShadowTopic: "shadow"},
			Admin:      AdminConfig{Enabled: true, TokenFile: tokenFile},
			Serve:      ServeConfig{Enabled: true, MaxRows: 64, MaxWait: time.Millisecond},
		}},
		{name: "provider", cfg: ModelConfig{ExecutionProvider: "tpu"}, want: []string{"model.execution_provider"}},
		{name: "canary fraction", cfg: ModelConfig{Canary: CanaryConfig{Version: "2", Fraction: 1.5}}, want: []string{"model.canary.fraction"}},
		{name: "canary without version", cfg: ModelConfig{Canary: CanaryConfig{Fraction: 0.5}}, want: []string{"model.canary.fraction"}},
		{name: "both version and path", cfg: ModelConfig{Challenger: ChallengerConfig{Version: "2", Path: "x.onnx"}}, want: []string{"model.challenger"}},
		{name: "shadow without challenger", cfg: ModelConfig{Challenger: ChallengerConfig{ShadowTopic: "s"}}, want: []string{"model.challenger.shadow_topic"}},
		{name: "admin without token", cfg: ModelConfig{Admin: AdminConfig{Enabled: true, TokenEnv: "STREAMSCORE_TEST_NO_SUCH_TOKEN"}}, want: []string{"model.admin", "STREAMSCORE_TEST_NO_SUCH_TOKEN"}},
		{name: "short token", cfg: ModelConfig{Admin: AdminConfig{Enabled: true, TokenFile: short}}, want: []string{"at least 16"}},
		{name: "negative serve", cfg: ModelConfig{Serve: ServeConfig{MaxRows: -1}}, want: []string{"model.serve"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("valid, want an error naming %v", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestAdminAuth(t *testing.T) {
	token := "the-right-token-0123456789"
	a := &adminAPI{tokenSum: sha256.Sum256([]byte(token)), log: slog.New(slog.DiscardHandler)}
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

type fakeShadowWriter struct {
	mu   sync.Mutex
	msgs []kafka.Message
}

func (w *fakeShadowWriter) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, msgs...)
	return nil
}

func (w *fakeShadowWriter) Close() error { return nil }

func TestShadowPublisher(t *testing.T) {
	spec, err := schemas.Load("../../testdata/linear.schema.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ev := func(id, user string) schemas.Message {
		var b strings.Builder
		b.WriteString(`{"event_id":"` + id + `","user_id":"` + user + `","ts":1732460000000`)
		for f := range 32 {
			b.WriteString(`,"f` + string(rune('0'+f/10)) + string(rune('0'+f%10)) + `":1`)
		}
		b.WriteString("}")
		return schemas.Message{Topic: "in", Partition: 2, Offset: 7, Value: []byte(b.String()), Time: time.UnixMilli(1732460000001)}
	}
	msgs := []schemas.Message{ev("a", "u1"), ev("b", "u2")}
	d := schemas.NewDecoder(spec, mem).Decode(msgs)
	defer d.Release()
	w := &fakeShadowWriter{}
	p := newShadowPublisher("shadow", w, spec, slog.New(slog.DiscardHandler), nil)
	sc := &routerScorer{shadow: p}
	champion := schemas.Scores{Name: "score", Width: 1, Values: []float64{1, 2}, Bits: 32}
	challenger := schemas.Scores{Name: "challenger.score", Width: 1, Values: []float64{0.5, 0.25}, Bits: 32}
	sc.recent[0] = challengerTag{first: &challenger.Values[0], name: "linear", version: "2"}
	b := &schemas.ScoredBatch{Msgs: msgs, Decoded: d, Scores: []schemas.Scores{champion, challenger}, OK: []bool{true, false}, Model: "linear", ModelVersion: "1", ScoredAt: time.UnixMilli(1732460000002)}
	sc.ObserveBatch(b)
	// A batch whose challenger result the scorer did not record.
	other := schemas.Scores{Name: "challenger.score", Width: 1, Values: []float64{9, 9}}
	sc.ObserveBatch(&schemas.ScoredBatch{Msgs: msgs, Decoded: d, Scores: []schemas.Scores{champion, other}})
	p.close()

	if len(w.msgs) != 1 {
		t.Fatalf("shadow messages = %d, want 1 (row 1 was not scored; the second batch is unmatched)", len(w.msgs))
	}
	m := w.msgs[0]
	got := string(m.Value)
	for _, want := range []string{`"event_id":"a"`, `"model":"linear"`, `"model_version":"2"`, `"scores":{"score":0.5}`, `"topic":"in"`, `"offset":7`} {
		if !strings.Contains(got, want) {
			t.Errorf("shadow event %s lacks %s", got, want)
		}
	}
	if m.Topic != "shadow" || string(m.Key) != "u1" {
		t.Errorf("shadow message topic %q key %q", m.Topic, m.Key)
	}
}
