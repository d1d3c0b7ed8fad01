package model

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ActiveFile is the file in models/<name>/ that names the version to serve
// (one line, the version). A watching scorer activates what it names; with no
// such file the newest version is the active one.
const ActiveFile = "active"

// ErrNoVersion is matched by the error of Active when a model has no
// registered version.
var ErrNoVersion = errors.New("no registered version")

// Registry is a model registry on disk:
//
//	<Root>/<name>/<version>/model.onnx
//	<Root>/<name>/<version>/manifest.json
//	<Root>/<name>/active            (optional: the version to serve)
//
// A version folder is immutable once registered; Register builds it under a
// temporary name and renames it into place, so a reader never sees half a
// version. The zero value is not usable; set Root.
type Registry struct {
	Root string
}

// Dir returns the folder of one version.
func (r Registry) Dir(name, version string) string {
	return filepath.Join(r.Root, name, version)
}

// Names returns the models in the registry, sorted.
func (r Registry) Names() ([]string, error) {
	entries, err := os.ReadDir(r.Root)
	if err != nil {
		return nil, fmt.Errorf("listing registry %s: %w", r.Root, err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && checkName("name", e.Name()) == nil {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Versions returns the registered versions of name (folders holding a
// manifest), oldest first: numbers compare as numbers, so "10" follows "9".
func (r Registry) Versions(name string) ([]string, error) {
	if err := checkName("model name", name); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(r.Root, name))
	if err != nil {
		return nil, fmt.Errorf("listing versions of %s: %w", name, err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() || checkName("version", e.Name()) != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(r.Root, name, e.Name(), ManifestFile)); err == nil {
			out = append(out, e.Name())
		}
	}
	slices.SortFunc(out, compareVersions)
	return out, nil
}

// Active returns the version to serve: the one named by <name>/active, or
// else the newest registered version.
func (r Registry) Active(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(r.Root, name, ActiveFile))
	switch {
	case err == nil:
		v := strings.TrimSpace(string(b))
		if err := checkName("version", v); err != nil {
			return "", fmt.Errorf("reading %s: %w", filepath.Join(r.Root, name, ActiveFile), err)
		}
		return v, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("reading the active version of %s: %w", name, err)
	}
	vs, err := r.Versions(name)
	if err != nil {
		return "", err
	}
	if len(vs) == 0 {
		return "", fmt.Errorf("finding the active version of %s in %s: %w", name, r.Root, ErrNoVersion)
	}
	return vs[len(vs)-1], nil
}

// SetActive writes <name>/active atomically, naming version, which must be
// registered.
func (r Registry) SetActive(name, version string) error {
	if _, err := ReadManifest(r.Dir(name, version)); err != nil {
		return fmt.Errorf("activating %s version %s: %w", name, version, err)
	}
	return writeFileAtomic(filepath.Join(r.Root, name, ActiveFile), []byte(version+"\n"))
}

// Register copies the model file src into a new version folder with its
// manifest: it computes the sha256, fills Created if zero, copies the
// golden file (m.Golden.File, a path) in as golden.json, and moves the
// folder into place in one rename. An existing version is never
// overwritten. It returns the new folder.
func (r Registry) Register(src string, m Manifest) (string, error) {
	if err := checkName("model name", m.Name); err != nil {
		return "", fmt.Errorf("registering: %w", err)
	}
	if err := checkName("version", m.Version); err != nil {
		return "", fmt.Errorf("registering: %w", err)
	}
	dst := r.Dir(m.Name, m.Version)
	if _, err := os.Stat(dst); err == nil {
		return "", fmt.Errorf("registering %s version %s: %s exists; versions are immutable, pick a new version", m.Name, m.Version, dst)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return "", fmt.Errorf("registering: reading model: %w", err)
	}
	if _, err := ReadFileInfo(data); err != nil {
		return "", fmt.Errorf("registering %s: %w", src, err)
	}
	parent := filepath.Join(r.Root, m.Name)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("registering: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+m.Version+".tmp-")
	if err != nil {
		return "", fmt.Errorf("registering: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	m.File = DefaultModelFile
	m.SHA256 = SHA256(data)
	if m.Created.IsZero() {
		m.Created = time.Now().UTC().Truncate(time.Second)
	}
	if err := os.WriteFile(filepath.Join(tmp, m.File), data, 0o644); err != nil {
		return "", fmt.Errorf("registering: %w", err)
	}
	if m.Golden != nil {
		g := *m.Golden
		if err := copyFile(g.File, filepath.Join(tmp, "golden.json")); err != nil {
			return "", fmt.Errorf("registering: copying golden file: %w", err)
		}
		g.File = "golden.json"
		m.Golden = &g
	}
	if err := WriteManifest(tmp, &m); err != nil {
		return "", fmt.Errorf("registering: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("registering: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", fmt.Errorf("registering: %w", err)
	}
	return dst, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Location is where a configured model path points.
type Location struct {
	// Registry, Name and Version locate a registered version; Registry.Root
	// is empty for a plain model file.
	Registry Registry
	Name     string
	Version  string
	// Path is the plain model file (Registry.Root empty), or the version
	// folder.
	Path string
}

// InRegistry reports whether l is a registered version.
func (l Location) InRegistry() bool { return l.Registry.Root != "" }

// Locate resolves a configured model path:
//
//   - models/<name>: a model folder of a registry; the version is
//     Registry.Active (the active file, else the newest);
//   - models/<name>/<version>: one registered version (pinned);
//   - models/<name>/<version>/model.onnx: the same version, by its file;
//   - any other .onnx file: a plain file, without manifest or checksum.
func Locate(path string) (Location, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Location{}, fmt.Errorf("locating model %s: %w", path, err)
	}
	dir := path
	if !st.IsDir() {
		dir = filepath.Dir(path)
		if _, err := os.Stat(filepath.Join(dir, ManifestFile)); err != nil {
			return Location{Path: path}, nil
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ManifestFile)); err == nil {
		m, err := ReadManifest(dir)
		if err != nil {
			return Location{}, fmt.Errorf("locating model %s: %w", path, err)
		}
		if !st.IsDir() && filepath.Base(path) != m.ModelFile() {
			return Location{}, fmt.Errorf("locating model %s: its folder's manifest describes %s, not this file", path, m.ModelFile())
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return Location{}, fmt.Errorf("locating model %s: %w", path, err)
		}
		if filepath.Base(abs) != m.Version || filepath.Base(filepath.Dir(abs)) != m.Name {
			return Location{}, fmt.Errorf("locating model %s: the manifest names %s version %s, but a registry keeps it in <root>/%s/%s", path, m.Name, m.Version, m.Name, m.Version)
		}
		reg := Registry{Root: filepath.Dir(filepath.Dir(abs))}
		return Location{Registry: reg, Name: m.Name, Version: m.Version, Path: abs}, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Location{}, fmt.Errorf("locating model %s: %w", path, err)
	}
	reg := Registry{Root: filepath.Dir(abs)}
	name := filepath.Base(abs)
	v, err := reg.Active(name)
	if err != nil {
		return Location{}, fmt.Errorf("locating model %s: a folder must be a registry model (<root>/<name>) or version (<root>/<name>/<version>): %w", path, err)
	}
	return Location{Registry: reg, Name: name, Version: v, Path: reg.Dir(name, v)}, nil
}

// compareVersions orders versions by runs: digit runs numerically, other
// runs as text ("2" < "10", "1.9" < "1.10", "2-rc1" < "2-rc2").
func compareVersions(a, b string) int {
	for a != "" && b != "" {
		ra, restA := versionRun(a)
		rb, restB := versionRun(b)
		da, db := isDigit(ra[0]), isDigit(rb[0])
		switch {
		case da && db:
			na, nb := strings.TrimLeft(ra, "0"), strings.TrimLeft(rb, "0")
			if len(na) != len(nb) {
				return len(na) - len(nb)
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
		default:
			if c := strings.Compare(ra, rb); c != 0 {
				return c
			}
		}
		a, b = restA, restB
	}
	return len(a) - len(b)
}

func versionRun(s string) (run, rest string) {
	d := isDigit(s[0])
	i := 1
	for i < len(s) && isDigit(s[i]) == d {
		i++
	}
	return s[:i], s[i:]
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
