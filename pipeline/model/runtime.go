package model

import (
	"fmt"
	"os"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// LibEnv is the environment variable that names the ONNX Runtime shared
// library when Init is given no path.
const LibEnv = "ONNXRUNTIME_LIB"

// DefaultLib is the library name handed to the dynamic loader when neither
// Init's argument nor $ONNXRUNTIME_LIB names one.
const DefaultLib = "libonnxruntime.so.1"

var runtimeState struct {
	mu   sync.Mutex
	path string // the library loaded; "" until Init succeeds
}

// LibPath returns the shared library Init would load for libPath: libPath
// itself, else $ONNXRUNTIME_LIB, else DefaultLib.
func LibPath(libPath string) string {
	if libPath != "" {
		return libPath
	}
	if p := os.Getenv(LibEnv); p != "" {
		return p
	}
	return DefaultLib
}

// Init loads the ONNX Runtime shared library and creates the process-wide
// runtime environment. libPath "" means $ONNXRUNTIME_LIB, then
// "libonnxruntime.so.1" on the loader's search path.
//
// Init is idempotent and safe for concurrent use: once it has succeeded, later
// calls return nil, unless they name a different library, which cannot be
// loaded into the same process and is an error. A failed Init may be retried.
// The environment lives until the process exits.
func Init(libPath string) error {
	path := LibPath(libPath)
	runtimeState.mu.Lock()
	defer runtimeState.mu.Unlock()
	if runtimeState.path != "" {
		if libPath != "" && path != runtimeState.path {
			return fmt.Errorf("loading ONNX Runtime from %s: the process already loaded %s, and one process holds one runtime", path, runtimeState.path)
		}
		return nil
	}
	if ort.IsInitialized() {
		// Someone used onnxruntime_go directly; this package must be the
		// only user, but do not tear down what another caller set up.
		return fmt.Errorf("loading ONNX Runtime from %s: onnxruntime_go was initialised outside package model", path)
	}
	ort.SetSharedLibraryPath(path)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("loading ONNX Runtime from %s: %w (ONNX Runtime 1.24 or newer is needed: run deployments/local/onnxruntime.sh, or set %s to the path of libonnxruntime.so.1)", path, err, LibEnv)
	}
	runtimeState.path = path
	return nil
}

// RuntimeVersion returns the version of the loaded ONNX Runtime library, such
// as "1.24.1", or "" before Init has succeeded.
func RuntimeVersion() string {
	runtimeState.mu.Lock()
	defer runtimeState.mu.Unlock()
	if runtimeState.path == "" {
		return ""
	}
	return ort.GetVersion()
}

// initialised reports whether Init has succeeded.
func initialised() bool {
	runtimeState.mu.Lock()
	defer runtimeState.mu.Unlock()
	return runtimeState.path != ""
}
