package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/internal/service"
	"github.com/streamscore/streamscore/internal/servicetest"
	"github.com/streamscore/streamscore/ops"
	"github.com/streamscore/streamscore/schemas"
)

// These tests keep the deployment files (deployments/k8s, compose, docker,
// systemd, grafana) true to the binary: every file parses, and the flags,
// ports, paths and config keys they use are the ones the binary has. The
// binary is asked (it is built and its --help read; its config loader and
// HTTP handler run), never a copy of what it says.

const deployDir = "../../deployments"

// --- the binary ---------------------------------------------------------

var helpFlag = regexp.MustCompile(`(?m)^\s+(?:-([A-Za-z0-9]), )?--([a-z0-9][a-z0-9-]*)`)

// binaryFlags builds the binary once per test and returns a function that
// lists the flags `streamscore <sub...> --help` prints, failing the test if
// the subcommand does not exist.
func binaryFlags(t *testing.T) func(sub ...string) map[string]bool {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "streamscore")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building streamscore: %v\n%s", err, out)
	}
	cache := map[string]map[string]bool{}
	return func(sub ...string) map[string]bool {
		t.Helper()
		key := strings.Join(sub, " ")
		if f, ok := cache[key]; ok {
			return f
		}
		out, err := exec.Command(bin, append(slices.Clone(sub), "--help")...).CombinedOutput()
		if err != nil {
			t.Fatalf("streamscore %s --help: %v\n%s", key, err, out)
		}
		// An unknown subcommand prints its parent's help, whose usage line
		// does not name it.
		if !strings.Contains(string(out), "streamscore "+key+" [flags]") {
			t.Fatalf("streamscore has no subcommand %q:\n%s", key, out)
		}
		f := map[string]bool{}
		for _, m := range helpFlag.FindAllStringSubmatch(string(out), -1) {
			f["--"+m[2]] = true
			if m[1] != "" {
				f["-"+m[1]] = true
			}
		}
		cache[key] = f
		return f
	}
}

// checkArgs checks a command line (without the binary's path): its leading
// words name a subcommand of the binary and every flag is one it accepts.
// It returns the flags' values.
func checkArgs(t *testing.T, flags func(...string) map[string]bool, where string, args []string) map[string]string {
	t.Helper()
	var sub []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = append(sub, args[0]), args[1:]
	}
	if len(sub) == 0 {
		t.Fatalf("%s: %q names no subcommand", where, args)
	}
	known := flags(sub...)
	vals := map[string]string{}
	for i := 0; i < len(args); i++ {
		name, val, hasVal := strings.Cut(args[i], "=")
		if !strings.HasPrefix(name, "-") {
			t.Errorf("%s: stray argument %q", where, args[i])
			continue
		}
		if !known[name] {
			t.Errorf("%s: `streamscore %s` has no flag %s", where, strings.Join(sub, " "), name)
		}
		if !hasVal && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			val = args[i+1]
			i++
		}
		vals[name] = val
	}
	vals[""] = strings.Join(sub, " ")
	return vals
}

// servedPaths checks that the binary's HTTP endpoint serves each path
// (anything but 404), using the very handler `run` serves.
func servedPaths(t *testing.T, where string, paths ...string) {
	t.Helper()
	var logs servicetest.Logs
	log, err := service.NewLogger(&logs, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ops.Serve(ops.Config{Addr: "127.0.0.1:0", Registry: prometheus.NewRegistry(), Ready: func() error { return errors.New("test") }}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	addr := servicetest.LoggedAddr(logs.String(), "http_addr")
	if addr == "" {
		t.Fatalf("ops.Serve logged no http_addr: %s", logs.String())
	}
	for _, p := range paths {
		res, err := http.Get("http://" + addr + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == http.StatusNotFound {
			t.Errorf("%s: the binary does not serve %s", where, p)
		}
	}
}

// --- parsing ------------------------------------------------------------

// yamlDocs parses every document of a YAML file.
func yamlDocs(t *testing.T, file string) []*yaml.Node {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s does not parse: %v", file, err)
		}
		docs = append(docs, &n)
	}
}

func decodeNode(t *testing.T, where string, n *yaml.Node, v any) {
	t.Helper()
	if err := n.Decode(v); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
}

type objectMeta struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels"`
}

type k8sObject struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	node       *yaml.Node
	file       string
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

type secretKeyRef struct {
	Name     string `yaml:"name"`
	Key      string `yaml:"key"`
	Optional bool   `yaml:"optional"`
}

type container struct {
	Name    string          `yaml:"name"`
	Image   string          `yaml:"image"`
	Command []string        `yaml:"command"`
	Args    []string        `yaml:"args"`
	EnvFrom []envFromSource `yaml:"envFrom"`
	Env     []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom struct {
			SecretKeyRef *secretKeyRef `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type envFromSource struct {
	ConfigMapRef struct {
		Name string `yaml:"name"`
	} `yaml:"configMapRef"`
}

type keyPath struct {
	Key  string `yaml:"key"`
	Path string `yaml:"path"`
}

type volume struct {
	Name      string `yaml:"name"`
	ConfigMap *struct {
		Name string `yaml:"name"`
	} `yaml:"configMap"`
	Secret *struct {
		SecretName string    `yaml:"secretName"`
		Optional   bool      `yaml:"optional"`
		Items      []keyPath `yaml:"items"`
	} `yaml:"secret"`
}

type deployment struct {
	Spec struct {
		Replicas *int `yaml:"replicas"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata objectMeta `yaml:"metadata"`
			Spec     struct {
				TerminationGracePeriodSeconds int         `yaml:"terminationGracePeriodSeconds"`
				Containers                    []container `yaml:"containers"`
				Volumes                       []volume    `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type k8sService struct {
	Spec struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort any    `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type labelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

type serviceMonitor struct {
	Spec struct {
		Selector  labelSelector `yaml:"selector"`
		Endpoints []struct {
			Port string `yaml:"port"`
			Path string `yaml:"path"`
		} `yaml:"endpoints"`
	} `yaml:"spec"`
}

type scaledObject struct {
	Spec struct {
		ScaleTargetRef struct {
			Name string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
		MinReplicaCount int `yaml:"minReplicaCount"`
		MaxReplicaCount int `yaml:"maxReplicaCount"`
		Triggers        []struct {
			Type              string            `yaml:"type"`
			Metadata          map[string]string `yaml:"metadata"`
			AuthenticationRef struct {
				Name string `yaml:"name"`
			} `yaml:"authenticationRef"`
		} `yaml:"triggers"`
	} `yaml:"spec"`
}

type triggerAuthentication struct {
	Spec struct {
		SecretTargetRef []struct {
			Parameter string `yaml:"parameter"`
			Name      string `yaml:"name"`
			Key       string `yaml:"key"`
		} `yaml:"secretTargetRef"`
	} `yaml:"spec"`
}

type ruleGroups struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert string `yaml:"alert"`
			Expr  string `yaml:"expr"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

type kustomization struct {
	Resources          []string `yaml:"resources"`
	ConfigMapGenerator []struct {
		Name     string   `yaml:"name"`
		Files    []string `yaml:"files"`
		Literals []string `yaml:"literals"`
	} `yaml:"configMapGenerator"`
	Images []kustomizeImage `yaml:"images"`
}

type kustomizeImage struct {
	Name string `yaml:"name"`
}

// k8sManifests parses every YAML file under deployments/k8s and returns the
// Kubernetes objects (documents with apiVersion and kind), the
// kustomization, and the plain files (config and schema) by name.
func k8sManifests(t *testing.T) (objs []k8sObject, kz kustomization, plain map[string]*yaml.Node) {
	t.Helper()
	dir := filepath.Join(deployDir, "k8s")
	plain = map[string]*yaml.Node{}
	files, err := filepath.Glob(filepath.Join(dir, "*.y*ml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no YAML in %s (%v)", dir, err)
	}
	for _, f := range files {
		for i, doc := range yamlDocs(t, f) {
			var o k8sObject
			decodeNode(t, f, doc, &o)
			base := filepath.Base(f)
			switch {
			case o.Kind == "Kustomization":
				decodeNode(t, f, doc, &kz)
			case o.APIVersion != "" && o.Kind != "":
				if o.Metadata.Name == "" {
					t.Errorf("%s document %d (%s): metadata.name is empty", base, i+1, o.Kind)
				}
				o.node, o.file = doc, base
				objs = append(objs, o)
			default:
				plain[base] = doc
			}
		}
	}
	return objs, kz, plain
}

func findObject(t *testing.T, objs []k8sObject, kind, name string, v any) k8sObject {
	t.Helper()
	for _, o := range objs {
		if o.Kind == kind && (name == "" || o.Metadata.Name == name) {
			if v != nil {
				decodeNode(t, o.file, o.node, v)
			}
			return o
		}
	}
	t.Fatalf("deployments/k8s has no %s %q", kind, name)
	return k8sObject{}
}

// literals returns the key=value literals of a kustomize ConfigMap generator.
func (kz kustomization) literals(name string) map[string]string {
	out := map[string]string{}
	for _, g := range kz.ConfigMapGenerator {
		if g.Name != name {
			continue
		}
		for _, l := range g.Literals {
			k, v, _ := strings.Cut(l, "=")
			out[k] = v
		}
	}
	return out
}

// loadConfigWith loads file with exactly env as the environment variables it
// may reference (others unset), through the binary's own loader, and
// validates it.
func loadConfigWith(t *testing.T, file string, env map[string]string) config.Config {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range config.EnvRef.FindAllStringSubmatch(string(raw), -1) {
		t.Setenv(m[1], "")
		os.Unsetenv(m[1])
	}
	for _, name := range []string{"STREAMSCORE_BROKERS", "STREAMSCORE_REDIS", "ONNXRUNTIME_LIB"} {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatalf("%s with %v: %v", file, env, err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("%s with %v does not validate: %v", file, env, err)
	}
	return cfg
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	i := strings.LastIndex(addr, ":")
	p, err := strconv.Atoi(addr[i+1:])
	if i < 0 || err != nil {
		t.Fatalf("address %q has no port", addr)
	}
	return p
}

// --- Kubernetes -----------------------------------------------------------

func TestK8sManifestsMatchTheBinary(t *testing.T) {
	flags := binaryFlags(t)
	objs, kz, plain := k8sManifests(t)
	dir := filepath.Join(deployDir, "k8s")
	defaultPort := portOf(t, config.Default().HTTP.Addr)

	// The kustomization names files that exist, and every manifest in the
	// folder is either applied, generated into a ConfigMap, or an example.
	listed := map[string]bool{"kustomization.yaml": true, "secret.example.yaml": true}
	for _, r := range kz.Resources {
		if _, err := os.Stat(filepath.Join(dir, r)); err != nil {
			t.Errorf("kustomization.yaml: resource %s: %v", r, err)
		}
		listed[r] = true
	}
	for _, g := range kz.ConfigMapGenerator {
		for _, f := range g.Files {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("kustomization.yaml: configMapGenerator %s file %s: %v", g.Name, f, err)
			}
			listed[f] = true
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.y*ml"))
	for _, f := range files {
		if !listed[filepath.Base(f)] {
			t.Errorf("%s is neither in kustomization.yaml nor an example", filepath.Base(f))
		}
	}
	if plain["streamscore.yaml"] == nil || plain["schema.yaml"] == nil {
		t.Fatal("deployments/k8s lacks streamscore.yaml or schema.yaml")
	}

	var dep deployment
	depObj := findObject(t, objs, "Deployment", "streamscore", &dep)
	spec := dep.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("Deployment: %d containers, want 1", len(spec.Containers))
	}
	c := spec.Containers[0]
	args := append(slices.Clone(c.Command), c.Args...)
	vals := checkArgs(t, flags, "Deployment args", args)
	if vals[""] != "run" {
		t.Errorf("Deployment runs `streamscore %s`, want run", vals[""])
	}
	// The configuration, loaded by the binary's loader with the pod's
	// environment: the streamscore-env ConfigMap and the container's env
	// (values from Secrets stand in as placeholders).
	env := kz.literals("streamscore-env")
	for _, e := range c.Env {
		env[e.Name] = e.Value
		if e.ValueFrom.SecretKeyRef != nil {
			env[e.Name] = "from-secret-" + e.ValueFrom.SecretKeyRef.Key
		}
	}
	cfg := loadConfigWith(t, filepath.Join(dir, "streamscore.yaml"), env)
	if p := portOf(t, cfg.HTTP.Addr); p != defaultPort {
		t.Errorf("streamscore.yaml: http.addr port %d, but the binary's default is %d; keep them equal so every manifest and tool agrees", p, defaultPort)
	}
	if !strings.HasPrefix(cfg.HTTP.Addr, "0.0.0.0:") && !strings.HasPrefix(cfg.HTTP.Addr, ":") {
		t.Errorf("streamscore.yaml: http.addr %q is not reachable by probes and Prometheus from outside the pod", cfg.HTTP.Addr)
	}
	if !cfg.Kafka.TLS.Enabled || cfg.Kafka.SASL.Mechanism == "" || cfg.Kafka.SASL.PasswordFile == "" || cfg.Kafka.SASL.Password != "" {
		t.Errorf("the Kubernetes config should use TLS and SASL with a password file: %+v", cfg.Kafka)
	}
	if _, err := schemas.Load(filepath.Join(dir, "schema.yaml")); err != nil {
		t.Errorf("schema.yaml: %v", err)
	}

	if dep.Spec.Replicas != nil {
		t.Errorf("Deployment sets spec.replicas; KEDA owns the replica count")
	}
	if !reflect.DeepEqual(dep.Spec.Selector.MatchLabels, subset(dep.Spec.Template.Metadata.Labels, dep.Spec.Selector.MatchLabels)) {
		t.Errorf("Deployment selector %v does not match its pod labels %v", dep.Spec.Selector.MatchLabels, dep.Spec.Template.Metadata.Labels)
	}

	// Mounted files: the config file --config names, the schema, the model,
	// and the secret files the config reads.
	mounts := map[string]string{} // mount path -> volume name
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	vols := map[string]volume{}
	for _, v := range spec.Volumes {
		vols[v.Name] = v
	}
	generated := map[string][]string{}
	for _, g := range kz.ConfigMapGenerator {
		generated[g.Name] = g.Files
	}
	fileIn := func(what, p string) {
		t.Helper()
		dirp, base := path.Split(p)
		v, ok := vols[mounts[strings.TrimSuffix(dirp, "/")]]
		switch {
		case !ok:
			t.Errorf("%s %s: no volume is mounted at %s", what, p, dirp)
		case v.ConfigMap != nil:
			if !slices.Contains(generated[v.ConfigMap.Name], base) {
				t.Errorf("%s %s: ConfigMap %s has no key %s", what, p, v.ConfigMap.Name, base)
			}
		case v.Secret != nil:
			if len(v.Secret.Items) > 0 && !slices.ContainsFunc(v.Secret.Items, func(k keyPath) bool { return k.Path == base }) {
				t.Errorf("%s %s: Secret volume %s projects no %s", what, p, v.Name, base)
			}
		}
	}
	fileIn("--config", vals["--config"])
	fileIn("schema", cfg.Schema)
	fileIn("kafka.tls.ca_file", cfg.Kafka.TLS.CAFile)
	fileIn("kafka.sasl.password_file", cfg.Kafka.SASL.PasswordFile)
	fileIn("redis.password_file", cfg.Redis.PasswordFile)
	if _, ok := mounts[path.Dir(cfg.Model.Path)]; !ok {
		t.Errorf("model.path %s: no volume is mounted at %s", cfg.Model.Path, path.Dir(cfg.Model.Path))
	}
	if !slices.ContainsFunc(c.EnvFrom, func(e envFromSource) bool { return e.ConfigMapRef.Name == "streamscore-env" }) {
		t.Errorf("the container does not take its environment from the streamscore-env ConfigMap")
	}

	// Ports and probes: the port the config serves on, the paths the binary
	// serves.
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != defaultPort {
		t.Errorf("container ports %+v, want one port %d", c.Ports, defaultPort)
	}
	portName := c.Ports[0].Name
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("readinessProbe is not GET /readyz: %+v", c.ReadinessProbe)
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("livenessProbe is not GET /healthz: %+v", c.LivenessProbe)
	}
	for _, p := range []*probe{c.ReadinessProbe, c.LivenessProbe} {
		if p != nil && fmt.Sprint(p.HTTPGet.Port) != portName && fmt.Sprint(p.HTTPGet.Port) != strconv.Itoa(defaultPort) {
			t.Errorf("probe port %v is neither %q nor %d", p.HTTPGet.Port, portName, defaultPort)
		}
	}
	if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
		t.Errorf("container resources lack cpu/memory requests or a memory limit: %+v", c.Resources)
	}
	if grace := time.Duration(spec.TerminationGracePeriodSeconds) * time.Second; grace <= cfg.Pipeline.DrainTimeout+5*time.Second {
		t.Errorf("terminationGracePeriodSeconds %s is not longer than pipeline.drain_timeout %s plus a margin", grace, cfg.Pipeline.DrainTimeout)
	}

	// Secrets the pod and KEDA read exist in the example, with those keys.
	secrets := map[string]map[string]bool{}
	for _, d := range yamlDocs(t, filepath.Join(dir, "secret.example.yaml")) {
		var s struct {
			Kind       string            `yaml:"kind"`
			Metadata   objectMeta        `yaml:"metadata"`
			StringData map[string]string `yaml:"stringData"`
		}
		decodeNode(t, "secret.example.yaml", d, &s)
		secrets[s.Metadata.Name] = map[string]bool{}
		for k := range s.StringData {
			secrets[s.Metadata.Name][k] = true
		}
	}
	needSecret := func(where, name, key string) {
		t.Helper()
		if !secrets[name][key] {
			t.Errorf("%s reads key %q of Secret %q, which secret.example.yaml does not show", where, key, name)
		}
	}
	for _, e := range c.Env {
		if r := e.ValueFrom.SecretKeyRef; r != nil {
			needSecret("env "+e.Name, r.Name, r.Key)
		}
	}
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			for _, it := range v.Secret.Items {
				needSecret("volume "+v.Name, v.Secret.SecretName, it.Key)
			}
		}
	}

	var svc k8sService
	svcObj := findObject(t, objs, "Service", "", &svc)
	if !reflect.DeepEqual(svc.Spec.Selector, subset(dep.Spec.Template.Metadata.Labels, svc.Spec.Selector)) {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, dep.Spec.Template.Metadata.Labels)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != defaultPort || fmt.Sprint(svc.Spec.Ports[0].TargetPort) != portName {
		t.Errorf("Service ports %+v, want port %d targeting %q", svc.Spec.Ports, defaultPort, portName)
	}

	var sm serviceMonitor
	findObject(t, objs, "ServiceMonitor", "", &sm)
	if !reflect.DeepEqual(sm.Spec.Selector.MatchLabels, subset(svcObj.Metadata.Labels, sm.Spec.Selector.MatchLabels)) {
		t.Errorf("ServiceMonitor selector %v does not select the Service (labels %v)", sm.Spec.Selector.MatchLabels, svcObj.Metadata.Labels)
	}
	var scrapePaths []string
	for _, e := range sm.Spec.Endpoints {
		if e.Port != svc.Spec.Ports[0].Name {
			t.Errorf("ServiceMonitor port %q is not the Service's %q", e.Port, svc.Spec.Ports[0].Name)
		}
		scrapePaths = append(scrapePaths, e.Path)
	}
	if !slices.Equal(scrapePaths, []string{"/metrics"}) {
		t.Errorf("ServiceMonitor paths %v, want [/metrics]", scrapePaths)
	}
	served := scrapePaths
	for _, p := range []*probe{c.ReadinessProbe, c.LivenessProbe} {
		if p != nil {
			served = append(served, p.HTTPGet.Path)
		}
	}
	servedPaths(t, "Deployment probes and ServiceMonitor", served...)

	var pdb struct {
		Spec struct {
			MaxUnavailable any           `yaml:"maxUnavailable"`
			MinAvailable   any           `yaml:"minAvailable"`
			Selector       labelSelector `yaml:"selector"`
		} `yaml:"spec"`
	}
	findObject(t, objs, "PodDisruptionBudget", "", &pdb)
	if !reflect.DeepEqual(pdb.Spec.Selector.MatchLabels, subset(dep.Spec.Template.Metadata.Labels, pdb.Spec.Selector.MatchLabels)) {
		t.Errorf("PodDisruptionBudget selector %v does not select the pods", pdb.Spec.Selector.MatchLabels)
	}
	if pdb.Spec.MaxUnavailable == nil && pdb.Spec.MinAvailable == nil {
		t.Errorf("PodDisruptionBudget sets neither maxUnavailable nor minAvailable")
	}

	// KEDA: scale the Deployment on this group's lag on the input topic, at
	// most one replica per partition.
	var so scaledObject
	findObject(t, objs, "ScaledObject", "", &so)
	if so.Spec.ScaleTargetRef.Name != depObj.Metadata.Name {
		t.Errorf("ScaledObject scales %q, not the Deployment %q", so.Spec.ScaleTargetRef.Name, depObj.Metadata.Name)
	}
	if so.Spec.MaxReplicaCount != cfg.Topics.Partitions || so.Spec.MinReplicaCount < 1 || so.Spec.MinReplicaCount > so.Spec.MaxReplicaCount {
		t.Errorf("ScaledObject replicas %d..%d; the max must equal topics.partitions (%d)", so.Spec.MinReplicaCount, so.Spec.MaxReplicaCount, cfg.Topics.Partitions)
	}
	if len(so.Spec.Triggers) != 1 || so.Spec.Triggers[0].Type != "kafka" {
		t.Fatalf("ScaledObject triggers %+v, want one kafka trigger", so.Spec.Triggers)
	}
	tr := so.Spec.Triggers[0]
	md := tr.Metadata
	want := map[string]string{
		"bootstrapServers":   strings.Join(cfg.Brokers, ","),
		"consumerGroup":      cfg.Group,
		"topic":              cfg.Topics.Input,
		"allowIdleConsumers": "false",
		"sasl":               kedaSASL[cfg.Kafka.SASL.Mechanism],
		"tls":                map[bool]string{true: "enable", false: "disable"}[cfg.Kafka.TLS.Enabled],
	}
	for k, v := range want {
		if md[k] != v {
			t.Errorf("ScaledObject trigger %s = %q, want %q (from the scorer's config)", k, md[k], v)
		}
	}
	if n, err := strconv.Atoi(md["lagThreshold"]); err != nil || n < 1 {
		t.Errorf("ScaledObject lagThreshold %q is not a positive number", md["lagThreshold"])
	}
	var ta triggerAuthentication
	findObject(t, objs, "TriggerAuthentication", tr.AuthenticationRef.Name, &ta)
	for _, r := range ta.Spec.SecretTargetRef {
		needSecret("TriggerAuthentication "+r.Parameter, r.Name, r.Key)
	}

	// Every object carries the name label its selectors use.
	for _, o := range objs {
		if o.Metadata.Labels["app.kubernetes.io/name"] != "streamscore" {
			t.Errorf("%s %s lacks the label app.kubernetes.io/name: streamscore", o.Kind, o.Metadata.Name)
		}
	}
	if !slices.ContainsFunc(kz.Images, func(i kustomizeImage) bool { return i.Name == c.Image }) {
		t.Errorf("the container image %q has no entry in kustomization.yaml images", c.Image)
	}
}

// kedaSASL maps kafka.sasl.mechanism to the KEDA kafka scaler's sasl.
var kedaSASL = map[string]string{"": "none", "PLAIN": "plaintext", "SCRAM-SHA-256": "scram_sha256", "SCRAM-SHA-512": "scram_sha512"}

// subset returns the entries of m whose keys are in keys.
func subset(m, keys map[string]string) map[string]string {
	out := map[string]string{}
	for k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

// --- alerting rules -------------------------------------------------------

func TestAlertRulesAreTheSameEverywhere(t *testing.T) {
	objs, _, _ := k8sManifests(t)
	var pr struct {
		Spec ruleGroups `yaml:"spec"`
	}
	findObject(t, objs, "PrometheusRule", "", &pr)
	var compose ruleGroups
	docs := yamlDocs(t, filepath.Join(deployDir, "compose/prometheus/alerts.yaml"))
	decodeNode(t, "alerts.yaml", docs[0], &compose)
	if !reflect.DeepEqual(pr.Spec, compose) {
		t.Errorf("deployments/k8s/prometheusrule.yaml and deployments/compose/prometheus/alerts.yaml hold different rules")
	}
	if len(pr.Spec.Groups) == 0 || len(pr.Spec.Groups[0].Rules) == 0 {
		t.Fatal("no alerting rules")
	}
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" {
				t.Errorf("rule %+v lacks a name or an expression", r)
			}
		}
	}
}

// --- Compose ------------------------------------------------------------

type composeFile struct {
	Services map[string]struct {
		Image string `yaml:"image"`
		Build *struct {
			Context    string `yaml:"context"`
			Dockerfile string `yaml:"dockerfile"`
		} `yaml:"build"`
		Command         []string          `yaml:"command"`
		Environment     map[string]string `yaml:"environment"`
		Volumes         []string          `yaml:"volumes"`
		StopGracePeriod string            `yaml:"stop_grace_period"`
		Expose          []string          `yaml:"expose"`
		Ports           []string          `yaml:"ports"`
	} `yaml:"services"`
}

func TestComposeMatchesTheBinaryAndK8s(t *testing.T) {
	flags := binaryFlags(t)
	dir := filepath.Join(deployDir, "compose")
	var cf composeFile
	docs := yamlDocs(t, filepath.Join(dir, "compose.yaml"))
	decodeNode(t, "compose.yaml", docs[0], &cf)
	for _, f := range []string{"prometheus/prometheus.yml", "prometheus/alerts.yaml", "grafana/datasource.yaml", "grafana/dashboards.yaml"} {
		yamlDocs(t, filepath.Join(dir, f))
	}
	defaultPort := portOf(t, config.Default().HTTP.Addr)

	ss, ok := cf.Services["streamscore"]
	if !ok {
		t.Fatal("compose.yaml has no streamscore service")
	}
	// Host paths of every bind mount and build exist.
	for name, s := range cf.Services {
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, ".") {
				if _, err := os.Stat(filepath.Join(dir, src)); err != nil {
					t.Errorf("compose service %s mounts %s: %v", name, src, err)
				}
			}
		}
		if s.Build != nil {
			if _, err := os.Stat(filepath.Join(dir, s.Build.Context, s.Build.Dockerfile)); err != nil {
				t.Errorf("compose service %s builds %s: %v", name, s.Build.Dockerfile, err)
			}
		}
	}
	vals := checkArgs(t, flags, "compose streamscore command", ss.Command)
	if vals[""] != "run" {
		t.Errorf("compose streamscore service runs %q, want run", vals[""])
	}
	if v := checkArgs(t, flags, "compose topics command", cf.Services["topics"].Command); v[""] != "topics create" || v["--config"] != vals["--config"] {
		t.Errorf("compose topics service runs %q with --config %q", v[""], v["--config"])
	}
	// The same config and schema files as Kubernetes, at the same paths.
	mounted := map[string]string{}
	for _, v := range ss.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 {
			mounted[parts[1]] = parts[0]
		}
	}
	if mounted[vals["--config"]] != "../k8s/streamscore.yaml" {
		t.Errorf("compose mounts %q at --config %s, want ../k8s/streamscore.yaml", mounted[vals["--config"]], vals["--config"])
	}
	cfg := loadConfigWith(t, filepath.Join(deployDir, "k8s/streamscore.yaml"), ss.Environment)
	if mounted[cfg.Schema] != "../k8s/schema.yaml" {
		t.Errorf("compose mounts %q at schema %s, want ../k8s/schema.yaml", mounted[cfg.Schema], cfg.Schema)
	}
	if mounted[cfg.Model.Path] == "" {
		t.Errorf("compose mounts no model at model.path %s", cfg.Model.Path)
	}
	if !slices.Contains(ss.Expose, strconv.Itoa(defaultPort)) {
		t.Errorf("compose streamscore exposes %v, want %d", ss.Expose, defaultPort)
	}
	grace, err := time.ParseDuration(ss.StopGracePeriod)
	if err != nil || grace <= cfg.Pipeline.DrainTimeout+5*time.Second {
		t.Errorf("compose stop_grace_period %q is not longer than pipeline.drain_timeout %s plus a margin", ss.StopGracePeriod, cfg.Pipeline.DrainTimeout)
	}

	// Prometheus scrapes what the ServiceMonitor scrapes, under the job name
	// the alert rules use.
	var prom struct {
		ScrapeConfigs []struct {
			JobName      string `yaml:"job_name"`
			MetricsPath  string `yaml:"metrics_path"`
			DNSSDConfigs []struct {
				Names []string `yaml:"names"`
				Port  int      `yaml:"port"`
			} `yaml:"dns_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	decodeNode(t, "prometheus.yml", yamlDocs(t, filepath.Join(dir, "prometheus/prometheus.yml"))[0], &prom)
	if len(prom.ScrapeConfigs) != 1 || prom.ScrapeConfigs[0].JobName != "streamscore" || len(prom.ScrapeConfigs[0].DNSSDConfigs) != 1 {
		t.Fatalf("prometheus.yml: want one streamscore job with DNS discovery: %+v", prom.ScrapeConfigs)
	}
	sc := prom.ScrapeConfigs[0]
	if sc.DNSSDConfigs[0].Port != defaultPort || !slices.Contains(sc.DNSSDConfigs[0].Names, "streamscore") {
		t.Errorf("prometheus.yml scrapes %v on port %d, want streamscore on %d", sc.DNSSDConfigs[0].Names, sc.DNSSDConfigs[0].Port, defaultPort)
	}
	servedPaths(t, "prometheus.yml metrics_path", sc.MetricsPath)
}

// --- container build file -------------------------------------------------

func TestDockerfileMatchesTheBinary(t *testing.T) {
	flags := binaryFlags(t)
	b, err := os.ReadFile(filepath.Join(deployDir, "docker/Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var entrypoint, cmd []string
	var expose []string
	env := map[string]string{}
	args := map[string]string{}
	var copies []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		instr, rest, _ := strings.Cut(line, " ")
		switch strings.ToUpper(instr) {
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(rest), &entrypoint); err != nil {
				t.Errorf("ENTRYPOINT is not a JSON array: %v", err)
			}
		case "CMD":
			if err := json.Unmarshal([]byte(rest), &cmd); err != nil {
				t.Errorf("CMD is not a JSON array: %v", err)
			}
		case "EXPOSE":
			expose = append(expose, strings.Fields(rest)...)
		case "ENV":
			k, v, _ := strings.Cut(rest, "=")
			env[k] = v
		case "ARG":
			if k, v, ok := strings.Cut(rest, "="); ok {
				args[k] = v
			}
		case "COPY":
			f := strings.Fields(rest)
			copies = append(copies, f[len(f)-1])
		}
	}
	if !slices.Equal(entrypoint, []string{"/usr/local/bin/streamscore"}) || !slices.Contains(copies, entrypoint[0]) {
		t.Errorf("ENTRYPOINT %v is not the copied binary", entrypoint)
	}
	if v := checkArgs(t, flags, "Dockerfile CMD", cmd); v[""] != "run" {
		t.Errorf("Dockerfile CMD runs %q, want run", v[""])
	}
	if port := strconv.Itoa(portOf(t, config.Default().HTTP.Addr)); !slices.Equal(expose, []string{port}) {
		t.Errorf("EXPOSE %v, want %s", expose, port)
	}
	if lib := env["ONNXRUNTIME_LIB"]; lib == "" || !slices.Contains(copies, lib) {
		t.Errorf("ONNXRUNTIME_LIB=%q is not where the library is copied (%v)", lib, copies)
	}
	// The library is the version the local scripts fetch and the tests run.
	local, err := os.ReadFile(filepath.Join(deployDir, "local/onnxruntime.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ORT_VERSION=(\S+)`).FindSubmatch(local)
	if m == nil || string(m[1]) != args["ORT_VERSION"] {
		t.Errorf("Dockerfile ORT_VERSION %q differs from deployments/local/onnxruntime.sh's %q", args["ORT_VERSION"], m)
	}
	if goVer := args["GO_VERSION"]; goVer == "" || !strings.HasPrefix(strings.TrimPrefix(goModGo(t), "go "), goVer) {
		t.Errorf("Dockerfile GO_VERSION %q does not match go.mod's %q", goVer, goModGo(t))
	}
}

func goModGo(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	return string(m[1])
}

// --- systemd --------------------------------------------------------------

func TestSystemdUnitMatchesTheBinary(t *testing.T) {
	flags := binaryFlags(t)
	dir := filepath.Join(deployDir, "systemd")
	unit := parseUnit(t, filepath.Join(dir, "streamscore.service"))
	for _, sec := range []string{"Unit", "Service", "Install"} {
		if unit[sec] == nil {
			t.Errorf("streamscore.service has no [%s] section", sec)
		}
	}
	svc := unit["Service"]
	cmdline := strings.Fields(svc["ExecStart"])
	if len(cmdline) < 2 || cmdline[0] != "/usr/local/bin/streamscore" {
		t.Fatalf("ExecStart %q does not start /usr/local/bin/streamscore", svc["ExecStart"])
	}
	vals := checkArgs(t, flags, "ExecStart", cmdline[1:])
	if vals[""] != "run" {
		t.Errorf("ExecStart runs %q, want run", vals[""])
	}
	// The environment file example makes the shared config valid.
	env := parseEnvFile(t, filepath.Join(dir, "streamscore.env.example"))
	cfg := loadConfigWith(t, filepath.Join(deployDir, "k8s/streamscore.yaml"), env)
	stop, err := time.ParseDuration(svc["TimeoutStopSec"] + "s")
	if err != nil || stop <= cfg.Pipeline.DrainTimeout+5*time.Second {
		t.Errorf("TimeoutStopSec %q is not longer than pipeline.drain_timeout %s plus a margin", svc["TimeoutStopSec"], cfg.Pipeline.DrainTimeout)
	}
	cred, _, _ := strings.Cut(svc["LoadCredential"], ":")
	if want := "/run/credentials/streamscore.service/" + cred; cfg.Kafka.SASL.PasswordFile != want {
		t.Errorf("kafka.sasl.password_file is %q, want the credential %s", cfg.Kafka.SASL.PasswordFile, want)
	}
	if !strings.Contains(svc["Environment"], "ONNXRUNTIME_LIB=") {
		t.Errorf("the unit does not set ONNXRUNTIME_LIB")
	}
}

// parseUnit reads a systemd unit file: section -> key -> value (the last
// one when a key repeats).
func parseUnit(t *testing.T, file string) map[string]map[string]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	var sec string
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			sec = line[1 : len(line)-1]
			out[sec] = map[string]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || sec == "" {
				t.Fatalf("%s:%d: not a key=value line in a section: %q", file, i+1, line)
			}
			out[sec][strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}

func parseEnvFile(t *testing.T, file string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not NAME=value", file, line)
		}
		env[k] = v
	}
	return env
}

// --- Grafana --------------------------------------------------------------

var metricName = regexp.MustCompile(`\b(?:streamscore|process|go)_[a-zA-Z0-9_]+`)

// dashboardMetrics returns the metric names the Grafana dashboard's
// queries (and the alert rules) reference, each with where it is used.
func dashboardMetrics(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	add := func(where, expr string) {
		for _, m := range metricName.FindAllString(expr, -1) {
			out[m] = append(out[m], where)
		}
	}
	b, err := os.ReadFile(filepath.Join(deployDir, "grafana/streamscore.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID    string `json:"uid"`
		Title  string `json:"title"`
		Panels []struct {
			ID      int    `json:"id"`
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("grafana/streamscore.json does not parse: %v", err)
	}
	if d.UID == "" || d.Title == "" || len(d.Panels) == 0 {
		t.Fatalf("dashboard lacks a uid, title or panels")
	}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d is used twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.Expr == "" {
				t.Errorf("panel %q has an empty query", p.Title)
			}
			add("dashboard panel "+strconv.Quote(p.Title), tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		add("dashboard variable $"+v.Name, v.Definition)
	}
	objs, _, _ := k8sManifests(t)
	var pr struct {
		Spec ruleGroups `yaml:"spec"`
	}
	findObject(t, objs, "PrometheusRule", "", &pr)
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			add("alert "+r.Alert, r.Expr)
		}
	}
	return out
}

func TestDashboardParses(t *testing.T) {
	metrics := dashboardMetrics(t)
	for _, want := range []string{
		"streamscore_pipeline_scored_events_total",          // throughput
		"streamscore_pipeline_batch_rows_bucket",            // batch size
		"streamscore_pipeline_event_latency_seconds_bucket", // latency
		"streamscore_consumer_lag_records",                  // lag
		"streamscore_pipeline_dead_letters_total",           // dead-letter rate
		"streamscore_drift_score",                           // drift
		"streamscore_drift_alert",
		"streamscore_drift_threshold",
		"streamscore_model_active", // models
		"streamscore_model_challenger_agreed_rows_total",
		"streamscore_model_scored_rows_total",
		"streamscore_features_cache_hits_total", // feature store
		"streamscore_features_redis_seconds_bucket",
		"streamscore_serve_requests_total", // serve
		"streamscore_serve_batch_rows_sum",
		"streamscore_build_info", // build
	} {
		if len(metrics[want]) == 0 {
			t.Errorf("the dashboard has no panel on %s", want)
		}
	}
	for m := range metrics {
		if strings.HasPrefix(m, "streamscore_") && !regexp.MustCompile(`^streamscore_[a-z]+_[a-z0-9_]+$`).MatchString(m) {
			t.Errorf("%s does not follow streamscore_<subsystem>_<name>_<unit>", m)
		}
	}
}
