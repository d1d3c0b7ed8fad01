package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/pipeline/model"
)

func TestModelConfigValidate(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte("0123456789abcdef0123\n"), 0o600)
	short := filepath.Join(t.TempDir(), "short")
	os.WriteFile(short, []byte("abc"), 0o600)
	tests := []struct {
		name string
		cfg  config.ModelConfig
		want []string // empty: valid
	}{
		{name: "zero", cfg: config.ModelConfig{}},
		{name: "everything", cfg: config.ModelConfig{
			Config: model.Config{ExecutionProvider: "cuda"},
			LineupConfig: model.LineupConfig{
				Watch:      time.Second,
				Canary:     model.CanaryConfig{Version: "2", Fraction: 0.1},
				Challenger: model.ChallengerConfig{Version: "3", ShadowTopic: "shadow"},
			},
			Admin: config.AdminConfig{Enabled: true, TokenFile: tokenFile},
			Serve: config.ServeConfig{Enabled: true, MaxRows: 64, MaxWait: time.Millisecond},
		}},
		{name: "provider", cfg: config.ModelConfig{Config: model.Config{ExecutionProvider: "tpu"}}, want: []string{"model.execution_provider"}},
		{name: "canary fraction", cfg: config.ModelConfig{LineupConfig: model.LineupConfig{Canary: model.CanaryConfig{Version: "2", Fraction: 1.5}}}, want: []string{"model.canary.fraction"}},
		{name: "canary without version", cfg: config.ModelConfig{LineupConfig: model.LineupConfig{Canary: model.CanaryConfig{Fraction: 0.5}}}, want: []string{"model.canary.fraction"}},
		{name: "both version and path", cfg: config.ModelConfig{LineupConfig: model.LineupConfig{Challenger: model.ChallengerConfig{Version: "2", Path: "x.onnx"}}}, want: []string{"model.challenger"}},
		{name: "shadow without challenger", cfg: config.ModelConfig{LineupConfig: model.LineupConfig{Challenger: model.ChallengerConfig{ShadowTopic: "s"}}}, want: []string{"model.challenger.shadow_topic"}},
		{name: "admin without token", cfg: config.ModelConfig{Admin: config.AdminConfig{Enabled: true, TokenEnv: "STREAMSCORE_TEST_NO_SUCH_TOKEN"}}, want: []string{"model.admin", "STREAMSCORE_TEST_NO_SUCH_TOKEN"}},
		{name: "short token", cfg: config.ModelConfig{Admin: config.AdminConfig{Enabled: true, TokenFile: short}}, want: []string{"at least 16"}},
		{name: "negative serve", cfg: config.ModelConfig{Serve: config.ServeConfig{MaxRows: -1}}, want: []string{"model.serve"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
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
