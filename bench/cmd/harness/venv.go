package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ensureVenv makes sure $STREAMSCORE_CACHE/bench-venv holds the packages of
// bench/peers/requirements.txt (reinstalling when that file changes) and
// returns its python and the versions installed.
func ensureVenv(ctx context.Context, root, python string) (string, map[string]string, error) {
	cache := os.Getenv("STREAMSCORE_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", nil, err
		}
		cache = filepath.Join(home, ".cache", "streamscore")
	}
	venv := filepath.Join(cache, "bench-venv")
	req := filepath.Join(root, "bench", "peers", "requirements.txt")
	raw, err := os.ReadFile(req)
	if err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256(raw)
	want := hex.EncodeToString(sum[:])
	marker := filepath.Join(venv, "requirements.sha256")
	py := filepath.Join(venv, "bin", "python")
	if got, err := os.ReadFile(marker); err != nil || strings.TrimSpace(string(got)) != want {
		logf("creating %s (first run, or requirements.txt changed)", venv)
		if err := os.RemoveAll(venv); err != nil {
			return "", nil, err
		}
		if err := runCmd(ctx, python, "-m", "venv", venv); err != nil {
			return "", nil, err
		}
		if err := runCmd(ctx, py, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", req); err != nil {
			return "", nil, err
		}
		if err := os.WriteFile(marker, []byte(want+"\n"), 0o644); err != nil {
			return "", nil, err
		}
	}
	out, err := exec.CommandContext(ctx, py, "-c", `import json, sys, confluent_kafka, numpy, onnxruntime, orjson
print(json.dumps({"python": sys.version.split()[0], "confluent-kafka": confluent_kafka.version()[0],
  "librdkafka": confluent_kafka.libversion()[0], "numpy": numpy.__version__,
  "onnxruntime": onnxruntime.__version__, "orjson": orjson.__version__}))`).Output()
	if err != nil {
		return "", nil, fmt.Errorf("importing the peers' packages from %s: %w", venv, err)
	}
	versions := map[string]string{}
	if err := json.Unmarshal(out, &versions); err != nil {
		return "", nil, err
	}
	return py, versions, nil
}

func runCmd(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return nil
}
