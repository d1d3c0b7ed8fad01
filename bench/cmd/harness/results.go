package main

import (
	"time"

	"github.com/streamscore/streamscore/bench/load"
)

// Results is everything one harness run measured; it is written as
// bench/results/<date>-<host>.json.
type Results struct {
	Date      string      `json:"date"`
	Host      string      `json:"host"`
	Machine   Machine     `json:"machine"`
	Commit    string      `json:"commit"`
	Workload  Workload    `json:"workload"`
	Backlog   Backlog     `json:"backlog"`
	Raw       Raw         `json:"raw"`
	Scorer    Scorer      `json:"streamscore"`
	Peers     Peers       `json:"peers"`
	Pinned    Pinned      `json:"pinned,omitzero"`
	Delivery  *Delivery   `json:"delivery,omitempty"`
	Formats   *Formats    `json:"formats,omitempty"`
	Ratios    Ratios      `json:"ratios"`
	Targets   []Target    `json:"targets"`
	Notes     []string    `json:"notes,omitempty"`
	Elapsed   float64     `json:"elapsed_s"`
	Variants  []string    `json:"variants"`
	Skipped   []string    `json:"skipped,omitempty"`
	Config    string      `json:"scorer_config"`
	startedAt time.Time   `json:"-"`
	rssSeries []rssSeries `json:"-"`
}

type rssSeries struct {
	name    string
	samples []load.RSSSample
}

// Machine describes where the run happened.
type Machine struct {
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	MemoryGiB int    `json:"memory_gib"`
	Go        string `json:"go"`
	Kafka     string `json:"kafka"`
	ORT       string `json:"onnxruntime"`
}

// Workload is the standard workload as run.
type Workload struct {
	Events     int     `json:"events"`
	Partitions int     `json:"partitions"`
	EventBytes float64 `json:"event_bytes_mean"`
	Features   int     `json:"features"`
	Model      string  `json:"model"`
	MaxRows    int     `json:"max_rows"`
	MaxWaitMs  float64 `json:"max_wait_ms"`
}

// Backlog is how the input backlog was written.
type Backlog struct {
	Events  int64   `json:"events"`
	Seconds float64 `json:"seconds"`
	Rate    float64 `json:"events_per_s"`
}

// Rate is a single-goroutine, in-process rate.
type Rate struct {
	RowsPerSec float64 `json:"rows_per_s"`
	NsPerRow   float64 `json:"ns_per_row"`
	// CPUNsPerRow is the thread's CPU time per row, where measured: on a
	// shared machine the wall time also counts waiting for a core.
	CPUNsPerRow float64 `json:"cpu_ns_per_row,omitempty"`
}

func newRate(rows int, el time.Duration) Rate {
	return Rate{RowsPerSec: float64(rows) / el.Seconds(), NsPerRow: float64(el.Nanoseconds()) / float64(rows)}
}

// BatchPoint is a rate at one batch size.
type BatchPoint struct {
	Batch         int     `json:"batch"`
	RowsPerSec    float64 `json:"rows_per_s"`
	MicrosPerCall float64 `json:"us_per_batch,omitempty"`
}

// Raw holds the raw limits.
type Raw struct {
	Decode      Rate         `json:"decode"`
	Encode      Rate         `json:"encode"`
	ORT         []BatchPoint `json:"onnxruntime"`
	InProcess   []BatchPoint `json:"in_process"`
	PassThrough Run          `json:"passthrough"`
	// PassThroughLatency is the pass-through's latency at the rates
	// streamscore's latency was measured at: what Kafka alone costs.
	PassThroughLatency []LoadPoint `json:"passthrough_latency,omitempty"`
}

// Run is one process consuming the backlog, measured from the output
// topic's end offsets.
type Run struct {
	Name string `json:"name"`
	// Rate is the best of Rates, events per second.
	Rate  float64   `json:"events_per_s"`
	Rates []float64 `json:"all_events_per_s"`
	// Events and Seconds are the measured window of the best run.
	Events   int64   `json:"events"`
	Seconds  float64 `json:"seconds"`
	Complete bool    `json:"complete"`
	// StartUp reports that the run ended within its warm-up: its rate is
	// measured from the process's start, start-up included.
	StartUp bool `json:"includes_start_up,omitempty"`
	// CPUMicros is the process's CPU time per event, BrokerCPUMicros the
	// broker's, over the measured window of the best run.
	CPUMicros       float64 `json:"cpu_us_per_event"`
	BrokerCPUMicros float64 `json:"broker_cpu_us_per_event,omitempty"`
	PeakRSS         int64   `json:"peak_rss_bytes"`
	Err             string  `json:"error,omitempty"`
}

// Scorer holds streamscore's end-to-end figures.
type Scorer struct {
	// Max is the standard run (batch.mode adaptive, the default); Fixed
	// the same with batch.mode fixed, alternating with it.
	Max   Run `json:"max"`
	Fixed Run `json:"max_fixed"`
	// Baseline is another streamscore binary (--baseline-binary), Tried
	// the current one with extra configuration (--try-yaml, one run per
	// flag), over the same backlog, alternating with Max.
	Baseline *Run  `json:"baseline,omitempty"`
	Tried    []Run `json:"tried,omitempty"`
	Sweep    []Run `json:"batch_sweep"`
	// Latency is batch.mode adaptive's, LatencyFixed fixed's, at the same
	// rates.
	Latency      []LoadPoint `json:"latency"`
	LatencyFixed []LoadPoint `json:"latency_fixed,omitempty"`
	// TriedLatency is each --try-yaml configuration's, at the same rates.
	TriedLatency []NamedLatency `json:"latency_tried,omitempty"`
	PeakRSS      int64          `json:"peak_rss_bytes"`
}

// NamedLatency is one configuration's latency loads.
type NamedLatency struct {
	Name   string      `json:"name"`
	Points []LoadPoint `json:"points"`
}

// Pinned holds the --pinned runs: the broker and the harness on CPU 0, the
// process under test alone on CPU 1, so each rate is per scorer core.
type Pinned struct {
	Ran         bool `json:"ran"`
	PassThrough Run  `json:"passthrough"`
	Scorer      Run  `json:"streamscore"`
	MicroBatch  Run  `json:"python_microbatch"`
}

// LoadPoint is the latency at one fixed input rate.
type LoadPoint struct {
	Load   float64 `json:"load"`
	Rate   float64 `json:"events_per_s"`
	Sent   int64   `json:"sent"`
	Scored int     `json:"scored_in_window"`
	P50    float64 `json:"p50_ms"`
	P95    float64 `json:"p95_ms"`
	P99    float64 `json:"p99_ms"`
	Max    float64 `json:"max_ms"`
	// CPU per event sent, of the process under test, the broker, and the
	// harness (the producer and the reader of scored events).
	CPUMicros        float64 `json:"cpu_us_per_event"`
	BrokerCPUMicros  float64 `json:"broker_cpu_us_per_event"`
	HarnessCPUMicros float64 `json:"harness_cpu_us_per_event"`
	// CDF is in milliseconds.
	CDF []load.CDFPoint `json:"cdf"`
}

// Peers holds the Python peers' figures.
type Peers struct {
	MicroBatch Run               `json:"microbatch"`
	PerEvent   Run               `json:"per_event"`
	Versions   map[string]string `json:"versions,omitempty"`
}

// Ratios are streamscore's throughput over each reference, and CPU
// efficiency: a reference's CPU time per event over streamscore's (above 1,
// streamscore needs less CPU per event).
type Ratios struct {
	PassThrough float64 `json:"streamscore_over_passthrough"`
	MicroBatch  float64 `json:"streamscore_over_python_microbatch"`
	PerEvent    float64 `json:"streamscore_over_python_per_event"`
	// CPUOverPassThrough is streamscore's CPU per event over the
	// pass-through's (the cost of the work it does; lower is better).
	CPUOverPassThrough float64 `json:"streamscore_cpu_over_passthrough_cpu"`
	EfficiencyMicro    float64 `json:"efficiency_vs_python_microbatch"`
	EfficiencyPerEvent float64 `json:"efficiency_vs_python_per_event"`
	// PinnedMicroBatch is streamscore's pinned rate over the pinned
	// micro-batched peer's: throughput per scorer core.
	PinnedMicroBatch float64 `json:"pinned_streamscore_over_python_microbatch,omitempty"`
	// AdaptiveOverFixed is the saturated rate of batch.mode adaptive over
	// fixed's.
	AdaptiveOverFixed float64 `json:"adaptive_over_fixed,omitempty"`
}

// Target is one of issue 8's targets and whether this run met it.
type Target struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	Met  bool   `json:"met"`
}

// Delivery is the delivery section: streamscore over the same backlog with
// delivery.mode at_least_once and exactly_once at several
// delivery.batches_per_transaction, then each at one load for latency.
type Delivery struct {
	// Load is the latency load, a fraction of at_least_once's sustained
	// rate; Rate is that rate in events per second.
	Load float64       `json:"load"`
	Rate float64       `json:"latency_events_per_s"`
	Runs []DeliveryRun `json:"runs"`
}

// DeliveryRun is one delivery configuration's figures.
type DeliveryRun struct {
	Mode string `json:"mode"`
	// BatchesPerTransaction is delivery.batches_per_transaction (exactly_once
	// only).
	BatchesPerTransaction int `json:"batches_per_transaction,omitempty"`
	// Extra is the YAML the run appended to the standard configuration.
	Extra string `json:"config"`
	// Backlog is the sustained rate over the backlog, counted from the
	// group's committed input offsets (what a read_committed reader
	// downstream can see).
	Backlog Run `json:"backlog"`
	// Latency is the event-to-score latency at Delivery.Rate, read with
	// read_committed under exactly_once.
	Latency LoadPoint `json:"latency,omitzero"`
}

// Formats is the formats section: the standard events as JSON, Avro and
// Protobuf, decoded in process and scored end to end.
type Formats struct {
	// Pool is how many distinct events each format's backlog cycles
	// through (the same events in every format).
	Pool int `json:"pool"`
	// TargetDecodeMicros is the binary formats' decode target per event.
	TargetDecodeMicros float64     `json:"target_decode_us"`
	Runs               []FormatRun `json:"runs"`
}

// FormatRun is one format's figures.
type FormatRun struct {
	Format string `json:"format"`
	// SchemaID is the writer schema's id (binary formats).
	SchemaID int `json:"schema_id,omitempty"`
	// EventBytes is the mean value size, framing included.
	EventBytes float64 `json:"event_bytes_mean"`
	// Decode is decoding alone, one goroutine, 1024 events per batch.
	Decode Rate `json:"decode"`
	// Write is how the format's backlog was written; Backlog streamscore's
	// run over it.
	Write   Backlog `json:"backlog_write"`
	Backlog Run     `json:"backlog"`
}
