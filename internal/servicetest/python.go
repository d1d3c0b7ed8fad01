package servicetest

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// PythonVenv returns the python of a virtual environment holding the
// packages of the pip requirements file requirements, creating it under
// $STREAMSCORE_CACHE (default ~/.cache/streamscore) as venv-<name>-<hash of
// the file> the first time, so a changed file gets a fresh environment.
// PYTHON picks the interpreter that creates it (default python3). It
// fails tb with pip's output when the packages cannot be installed.
func PythonVenv(tb testing.TB, name, requirements string) string {
	tb.Helper()
	raw, err := os.ReadFile(requirements)
	if err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	cache := os.Getenv("STREAMSCORE_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			tb.Fatal(err)
		}
		cache = filepath.Join(home, ".cache", "streamscore")
	}
	venv := filepath.Join(cache, "venv-"+name+"-"+hex.EncodeToString(sum[:])[:12])
	py := filepath.Join(venv, "bin", "python")
	done := filepath.Join(venv, "installed")
	if _, err := os.Stat(done); err == nil {
		return py
	}
	base := os.Getenv("PYTHON")
	if base == "" {
		base = "python3"
	}
	tb.Logf("creating %s from %s (first run only)", venv, requirements)
	if err := os.RemoveAll(venv); err != nil {
		tb.Fatal(err)
	}
	if out, err := exec.Command(base, "-m", "venv", venv).CombinedOutput(); err != nil {
		tb.Fatalf("creating a virtual environment with %s: %v\n%s", base, err, out)
	}
	if out, err := exec.Command(py, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", requirements).CombinedOutput(); err != nil {
		os.RemoveAll(venv)
		tb.Fatalf("installing %s: %v\n%s", requirements, err, out)
	}
	if err := os.WriteFile(done, raw, 0o644); err != nil {
		tb.Fatal(err)
	}
	return py
}
