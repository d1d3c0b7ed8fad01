package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/streamscore/streamscore/bench/load"
	"github.com/streamscore/streamscore/schemas"
)

// targetBinaryDecodeMicros is issue 18's target: Avro and Protobuf decode
// per standard event, in process.
const targetBinaryDecodeMicros = 0.5

// formatPool is how many distinct events each format's backlog cycles
// through: encoding Avro and Protobuf from JSON costs tens of microseconds
// an event, far more than the broker takes to store one.
const formatPool = 8192

// formatCase is one format of the formats section: the writer schema's id
// and file (testdata/formats, local files keyed by id, no registry).
type formatCase struct {
	format schemas.Format
	id     int
	file   string
}

var formatCases = []formatCase{
	{format: schemas.FormatJSON},
	{format: schemas.FormatAvro, id: 1, file: "testdata/formats/payments.avsc"},
	{format: schemas.FormatProtobuf, id: 3, file: "testdata/formats/payments.desc"},
}

// formatSpec writes the standard schema spec for c into the work folder
// and returns its path. Every format passes through merchant only: the
// Avro and Protobuf payments schemas have no sent_us.
func (b *bench) formatSpec(c formatCase) (string, error) {
	text, err := os.ReadFile(b.schema)
	if err != nil {
		return "", err
	}
	const from, to = "passthrough: [merchant, sent_us]", "passthrough: [merchant]"
	s := string(text)
	if !strings.Contains(s, from) {
		return "", fmt.Errorf("%s has no line %q to rewrite for the formats section", b.schema, from)
	}
	s = strings.Replace(s, from, to, 1)
	if c.format.Binary() {
		s += fmt.Sprintf("format: %s\nregistry:\n  files: {%d: %q}\n", c.format, c.id, filepath.Join(b.root, c.file))
	}
	path := filepath.Join(b.work, "formats-"+string(c.format)+".schema.yaml")
	return path, os.WriteFile(path, []byte(s), 0o644)
}

// formatsSection measures, for JSON, Avro and Protobuf, decoding alone in
// process and streamscore end to end over a backlog of the same events in
// that format (alternating o.repeat times).
func (b *bench) formatsSection(ctx context.Context, res *Results, o options) error {
	pool := min(o.events, formatPool)
	f := &Formats{Pool: pool, TargetDecodeMicros: targetBinaryDecodeMicros}
	specs := make([]string, len(formatCases))
	topics := make([]string, len(formatCases))
	defer func() {
		for _, t := range topics {
			if t == "" {
				continue
			}
			if err := load.DeleteTopics(context.WithoutCancel(ctx), b.brokers, t); err != nil {
				logf("deleting %s: %v", t, err)
			}
		}
	}()
	now := time.Now()
	for i, c := range formatCases {
		path, err := b.formatSpec(c)
		if err != nil {
			return err
		}
		specs[i] = path
		spec, err := schemas.Load(path)
		if err != nil {
			return fmt.Errorf("formats, %s: %w", c.format, err)
		}
		// The same seed: the same events in every format.
		msgs, err := load.Pool(ctx, spec, c.id, pool, load.NewEvents(1), now)
		if err != nil {
			return err
		}
		run := FormatRun{Format: string(c.format), SchemaID: c.id}
		var bytes int
		for _, m := range msgs {
			bytes += len(m.Value)
		}
		run.EventBytes = float64(bytes) / float64(len(msgs))
		in := decoderInput(msgs[:min(len(msgs), 1024)], now)
		if run.Decode, err = decodeRate(spec, in, o.rawDur*2); err != nil {
			return fmt.Errorf("formats, decoding %s: %w", c.format, err)
		}
		logf("formats: %s decode %.0f ns/event (%.0f ns CPU), %.0f bytes/event", c.format, run.Decode.NsPerRow, run.Decode.CPUNsPerRow, run.EventBytes)
		topics[i] = fmt.Sprintf("%s.formats.%s", b.prefix, c.format)
		if err := load.CreateTopics(ctx, b.brokers, o.partitions, 0, topics[i]); err != nil {
			return err
		}
		bl, err := load.BacklogOf(ctx, b.brokers, topics[i], o.events, msgs)
		if err != nil {
			return err
		}
		run.Write = Backlog{Events: bl.Events, Seconds: bl.Elapsed.Seconds(), Rate: float64(bl.Events) / bl.Elapsed.Seconds()}
		f.Runs = append(f.Runs, run)
	}
	runs := make([][]Run, len(formatCases))
	for range o.repeat {
		for i, c := range formatCases {
			r, _, err := b.backlogRunOn(ctx, "streamscore-"+string(c.format), b.scorerSchema(specs[i]), 0, topics[i], false)
			if err != nil {
				return fmt.Errorf("formats, %s: %w", c.format, err)
			}
			runs[i] = append(runs[i], r)
		}
	}
	for i := range f.Runs {
		f.Runs[i].Backlog = best(runs[i])
	}
	res.Formats = f
	return nil
}

// decodeMicros is a format's decode cost per event: the thread's CPU time
// where measured (the wall time also counts waiting for a shared core).
func (fr FormatRun) decodeMicros() float64 {
	if fr.Decode.CPUNsPerRow > 0 {
		return fr.Decode.CPUNsPerRow / 1e3
	}
	return fr.Decode.NsPerRow / 1e3
}

// formatTargets adds the binary formats' decode targets.
func (r *Results) formatTargets(add func(name, want, got string, met bool)) {
	if r.Formats == nil {
		return
	}
	for _, fr := range r.Formats.Runs {
		if !schemas.Format(fr.Format).Binary() || fr.Decode.NsPerRow == 0 {
			continue
		}
		d := fr.decodeMicros()
		add(fr.Format+" decode in process", fmt.Sprintf("≤ %.1f µs/event", r.Formats.TargetDecodeMicros),
			fmt.Sprintf("%.2f µs CPU/event (%.2f µs wall)", d, fr.Decode.NsPerRow/1e3), d <= r.Formats.TargetDecodeMicros)
	}
}

// formatsMarkdown is the formats section of the report.
func (r *Results) formatsMarkdown(w func(string, ...any), svg string) {
	f := r.Formats
	if f == nil || len(f.Runs) == 0 {
		return
	}
	base := f.Runs[0].Backlog
	w("## Formats: JSON, Avro and Protobuf\n\n")
	w("The standard events in each format: Avro and Protobuf in the Confluent wire format (magic byte, schema id, and Protobuf's message indexes), encoded from the JSON events by the encoder `streamscore produce --format` uses, with writer schemas from local files keyed by id (testdata/formats; no registry). ")
	w("Each backlog holds %s events cycling through the same %s distinct events in every format; every format passes through merchant only. Decode is in process, one goroutine, 1024 events per batch, the best of three windows; CPU is the thread's. End to end is `streamscore run` over each backlog, the formats alternating (best of %d runs).\n\n",
		thousands(float64(r.Workload.Events)), thousands(float64(f.Pool)), max(1, len(base.Rates)))
	w("| format | bytes/event | decode µs CPU/event | decode µs wall/event | target | met | events/s | vs JSON | CPU µs/event | broker CPU µs/event | all runs |\n")
	w("| --- | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | --- |\n")
	for _, fr := range f.Runs {
		target, met := "–", "–"
		if schemas.Format(fr.Format).Binary() {
			target = fmt.Sprintf("≤ %.1f", f.TargetDecodeMicros)
			met = "yes"
			if fr.decodeMicros() > f.TargetDecodeMicros {
				met = fmt.Sprintf("**no** (%.1f× the target)", fr.decodeMicros()/f.TargetDecodeMicros)
			}
		}
		var rates []string
		for _, v := range fr.Backlog.Rates {
			rates = append(rates, thousands(v))
		}
		w("| %s | %.0f | %.2f | %.2f | %s | %s | %s | %.2f× | %.1f | %.1f | %s |\n", fr.Format, fr.EventBytes, fr.decodeMicros(), fr.Decode.NsPerRow/1e3, target, met,
			thousands(fr.Backlog.Rate), ratio(fr.Backlog.Rate, base.Rate), fr.Backlog.CPUMicros, fr.Backlog.BrokerCPUMicros,
			strings.Join(rates, ", ")+bestWindow(fr.Backlog))
	}
	w("\n![formats](%s)\n\n", svg)
}

// formatsChart plots each format as a point: decode CPU per event against
// end-to-end events/s, with the binary formats' decode target as a dashed
// line.
func (r *Results) formatsChart() *chart {
	f := r.Formats
	c := &chart{
		title: "Formats: decode cost and end-to-end throughput", xlabel: "decode, µs CPU per event (in process)", ylabel: "events per second (end to end)",
		xlog: true, xmin: math.Inf(1), xmax: 0, ymin: 0, ymax: 0,
	}
	for i, fr := range f.Runs {
		x := math.Max(fr.decodeMicros(), 0.01)
		c.xmin, c.xmax = math.Min(c.xmin, x), math.Max(c.xmax, x)
		c.ymax = math.Max(c.ymax, fr.Backlog.Rate)
		c.series = append(c.series, series{name: fmt.Sprintf("%s (%.0f B/event)", fr.Format, fr.EventBytes), color: palette[i%len(palette)], points: true, pts: [][2]float64{{x, fr.Backlog.Rate}}})
	}
	c.xmin, c.xmax = math.Min(c.xmin, f.TargetDecodeMicros), math.Max(c.xmax, f.TargetDecodeMicros)
	c.xmin = math.Pow(10, math.Floor(math.Log10(c.xmin)))
	c.xmax = math.Pow(10, math.Ceil(math.Log10(c.xmax)))
	c.xticks = decadeTicks(c.xmin, c.xmax, func(v float64) string { return trimZero(fmt.Sprintf("%g", v)) })
	if c.ymax == 0 {
		c.ymax = 1
	}
	step := niceStep(c.ymax / 5)
	c.ymax = math.Ceil(c.ymax*1.1/step) * step
	for v := 0.0; v <= c.ymax*1.001; v += step {
		c.yticks = append(c.yticks, tick{v, si(v)})
	}
	c.series = append(c.series, series{name: fmt.Sprintf("decode target %.1f µs", f.TargetDecodeMicros), color: palette[6], dash: "6 4",
		pts: [][2]float64{{f.TargetDecodeMicros, 0}, {f.TargetDecodeMicros, c.ymax}}})
	return c
}
