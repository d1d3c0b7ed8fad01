package scoring

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/pipeline/drift"
	"github.com/streamscore/streamscore/pipeline/features"
	"github.com/streamscore/streamscore/pipeline/model"
	"github.com/streamscore/streamscore/pipeline/replay"
	"github.com/streamscore/streamscore/schemas"
)

// OpenFeatureSet finds the feature set name in cfg's schema and connects to
// cfg's Redis, checking within 5 seconds that it answers: what the features
// commands load into and inspect. The caller closes the client.
func OpenFeatureSet(ctx context.Context, cfg *config.Config, name string) (*schemas.FeatureSet, redis.UniversalClient, error) {
	if err := cfg.Redis.Validate(); err != nil {
		return nil, nil, err
	}
	if !cfg.Redis.Enabled() {
		return nil, nil, errors.New("no Redis configured: pass --redis host:port, set redis.addrs in --config, or set STREAMSCORE_REDIS")
	}
	if cfg.Schema == "" {
		return nil, nil, errors.New("no schema: pass --schema FILE, or --config with a schema key")
	}
	spec, err := schemas.Load(cfg.Schema)
	if err != nil {
		return nil, nil, err
	}
	fs, err := features.FindSet(spec, name, cfg.Schema)
	if err != nil {
		return nil, nil, err
	}
	client, err := cfg.Redis.NewClient()
	if err != nil {
		return nil, nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		client.Close()
		return nil, nil, fmt.Errorf("connecting to Redis %s: %w", strings.Join(cfg.Redis.Addrs, ","), err)
	}
	return fs, client, nil
}

// DriftWindow is what the drift commands read: the baseline, the window's
// namespace in Redis, the drift settings with their defaults, and the
// client. The caller closes Client.
type DriftWindow struct {
	Baseline  *drift.Baseline
	Namespace drift.Namespace
	Config    drift.Config
	Client    redis.UniversalClient
}

// OpenDriftWindow loads cfg.Drift's baseline and connects to cfg's Redis
// for the window of the model name and version: name defaults to
// model.name, else the model file's name; version to model.version.
func OpenDriftWindow(cfg *config.Config, name, version string) (*DriftWindow, error) {
	dc := &cfg.Drift
	if dc.Baseline == "" {
		return nil, errors.New("no baseline: set drift.baseline in --config or pass --baseline")
	}
	if err := dc.Validate(); err != nil {
		return nil, config.InSection("drift", err)
	}
	if err := cfg.Redis.Validate(); err != nil {
		return nil, err
	}
	if !cfg.Redis.Enabled() {
		return nil, errors.New("no Redis: pass --redis, set redis.addrs in --config, or set STREAMSCORE_REDIS")
	}
	base, err := drift.LoadBaseline(dc.Baseline)
	if err != nil {
		return nil, err
	}
	mc := dc.WithDefaults()
	if name == "" {
		name = cfg.Model.Name
	}
	if name == "" && cfg.Model.Path != "" {
		name = model.NameFromPath(cfg.Model.Path)
	}
	if name == "" {
		return nil, errors.New("no model name: set model.name (or model.path) in --config or pass --model-name")
	}
	if version == "" {
		version = cfg.Model.Version
	}
	client, err := cfg.Redis.NewClient()
	if err != nil {
		return nil, err
	}
	ns := drift.Namespace{Prefix: mc.Prefix, Model: name, Version: version, Baseline: base.ID()}
	return &DriftWindow{Baseline: base, Namespace: ns, Config: mc, Client: client}, nil
}

// OpenTrainingScorer opens the model at modelPath that scores training rows
// for a prediction baseline, with cfg's model settings, one session and one
// thread each way, initialising ONNX Runtime from lib (else cfg's
// onnxruntime_lib). The caller closes it.
func OpenTrainingScorer(ctx context.Context, cfg *config.Config, lib, modelPath string, spec *schemas.Spec) (*model.Router, error) {
	if lib == "" {
		lib = cfg.OnnxRuntimeLib
	}
	if err := model.Init(lib); err != nil {
		return nil, err
	}
	mc := cfg.Model
	mc.Path = modelPath
	if mc.Name == "" {
		mc.Name = model.NameFromPath(modelPath)
	}
	mc.Sessions = max(mc.Sessions, 1)
	mc.IntraOpThreads = max(mc.IntraOpThreads, 1)
	mc.InterOpThreads = max(mc.InterOpThreads, 1)
	return model.OpenScorer(ctx, mc.Config, mc.WarmupRows, spec)
}

// FileEvents reads a training file as events, as replay reads its files (a
// drift.EventReader). It closes out when done.
func FileEvents(ctx context.Context, path string, out chan<- schemas.Message) error {
	src, err := replay.NewFiles([]string{path})
	if err != nil {
		close(out)
		return err
	}
	return src.Run(ctx, out)
}
