package main

import (
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// commit is set at build time with -ldflags "-X main.commit=..." (make
// build does); empty means the VCS revision Go recorded, if any.
var commit = ""

// buildCommit returns the commit the binary was built from, or "unknown".
func buildCommit() string {
	if commit != "" {
		return commit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				return s.Value
			}
		}
	}
	return "unknown"
}

// newBuildInfo returns the constant streamscore_build_info gauge: 1, with
// the version, commit and Go version as labels.
func newBuildInfo() prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "streamscore_build_info",
		Help:        "Always 1; the labels say which build of streamscore runs.",
		ConstLabels: prometheus.Labels{"version": version, "commit": buildCommit(), "goversion": runtime.Version()},
	})
	g.Set(1)
	return g
}
