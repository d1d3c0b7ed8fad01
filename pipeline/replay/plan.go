package replay

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/streamscore/streamscore/consumers"
	"github.com/streamscore/streamscore/pipeline/model"
)

// Plan is what a replay reads and where it writes, as `streamscore replay`
// names it on its command line: a topic's time range or files, a file or a
// topic for the scored rows, and report files. Validate is the one place
// these choices are checked; Config.Validate then checks the replay built
// from them.
type Plan struct {
	// Topic is the topic to replay; From and To bound its time range (RFC
	// 3339, a date, or epoch milliseconds; see ParseTime). Empty To means
	// the end of the topic when the replay starts.
	Topic    string
	From, To string
	// Isolation is how Topic's transactional records are read (see
	// consumers.Isolation); empty means kafka-go's plain Reader.
	Isolation consumers.Isolation
	// Files are the event files (.jsonl or .parquet, globs allowed), read
	// instead of a topic; From and To then filter rows by event time.
	Files []string
	// Out is a .jsonl or .parquet file for the scored rows; ToTopic a topic
	// of its own for them (created if missing). At most one.
	Out, ToTopic string
	// Reports are .html or .json report files to write.
	Reports []string
	// Features is where feature-set features come from.
	Features FeatureSource
	// Schema is the event schema file; required.
	Schema string
	// Protected are topics ToTopic must not be, by what they are
	// ("production output", "input", "dead-letter").
	Protected map[string]string
}

// Validate reports the first problem with p, naming the flag to fix.
func (p *Plan) Validate() error {
	switch {
	case p.Topic == "" && len(p.Files) == 0:
		return errors.New("name what to replay: --topic TOPIC (with --from/--to) or --file FILE")
	case p.Topic != "" && len(p.Files) > 0:
		return errors.New("--topic and --file: replay one or the other")
	case p.Out != "" && p.ToTopic != "":
		return errors.New("--out and --to-topic: write to one or the other")
	case p.Schema == "":
		return errors.New("--schema (or schema in --config) is required")
	}
	from, to, err := p.Range()
	if err != nil {
		return err
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return fmt.Errorf("--to (%s) must be after --from (%s)", to.Format(time.RFC3339Nano), from.Format(time.RFC3339Nano))
	}
	if p.ToTopic != "" {
		protected := map[string]string{"replayed": p.Topic}
		for what, t := range p.Protected {
			protected[what] = t
		}
		for what, t := range protected {
			if t != "" && p.ToTopic == t {
				return fmt.Errorf("--to-topic %s is the %s topic: a replay writes to a topic of its own (e.g. %s.replay)", t, what, t)
			}
		}
	}
	for _, r := range p.Reports {
		switch strings.ToLower(filepath.Ext(r)) {
		case ".html", ".htm", ".json":
		default:
			return fmt.Errorf("--report %s: name it .html (charts) or .json", r)
		}
	}
	if err := p.Features.Validate(); err != nil {
		return fmt.Errorf("--features: %w", err)
	}
	return nil
}

// Range returns From and To parsed; zero times where they are empty.
func (p *Plan) Range() (from, to time.Time, err error) {
	if from, err = ParseTime(p.From); err != nil {
		return from, to, fmt.Errorf("--from %w", err)
	}
	if to, err = ParseTime(p.To); err != nil {
		return from, to, fmt.Errorf("--to %w", err)
	}
	return from, to, nil
}

// NeedsKafka reports whether the plan reads or writes a topic.
func (p *Plan) NeedsKafka() bool { return p.Topic != "" || p.ToTopic != "" }

// ParseTime reads RFC 3339, a date (midnight UTC) or epoch milliseconds;
// "" is the zero time.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q: write RFC 3339 (2026-01-02T15:04:05Z), a date (2026-01-02) or epoch milliseconds", s)
}

// Kafka is how a replay reaches the brokers: addresses, the dialer and
// transport that carry TLS and SASL (nil for kafka-go's defaults), and the
// shape of a topic it creates.
type Kafka struct {
	Brokers           []string
	Dialer            *kafka.Dialer
	Transport         *kafka.Transport
	DialTimeout       time.Duration
	Partitions        int
	ReplicationFactor int
	// NewWriter returns a writer for topic with the house's settings.
	NewWriter func(topic string) *kafka.Writer
}

// OpenOutput sets rc.Output from p.Out or p.ToTopic (creating the topic),
// and returns what closes it. It first checks that a broker answers when
// the plan reads or writes a topic, so a wrong address fails at once.
func (p *Plan) OpenOutput(ctx context.Context, k Kafka, rc *Config) (func(), error) {
	if p.NeedsKafka() {
		if err := consumers.Reach(ctx, k.Brokers, k.Dialer, k.DialTimeout); err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("replay: stopped during start-up: %w", ctx.Err())
			}
			return nil, fmt.Errorf("connecting to Kafka (check brokers, kafka.tls and kafka.sasl): %w", err)
		}
	}
	switch {
	case p.Out != "":
		out, err := CreateFile(p.Out)
		if err != nil {
			return nil, err
		}
		rc.Output = out
	case p.ToTopic != "":
		if err := consumers.CreateTopics(ctx, k.Dialer, k.Brokers, k.Partitions, k.ReplicationFactor, p.ToTopic); err != nil {
			return nil, err
		}
		w := k.NewWriter(p.ToTopic)
		out, err := NewTopicOutput(TopicOutputConfig{Topic: p.ToTopic, Writer: w})
		if err != nil {
			w.Close()
			return nil, err
		}
		rc.Output = out
		return func() { w.Close() }, nil
	}
	return func() {}, nil
}

// OpenSource sets rc.Source from p.Topic (its time range) or p.Files, and
// returns how to count the events it holds.
func (p *Plan) OpenSource(ctx context.Context, k Kafka, rc *Config) (func(context.Context) (int64, error), error) {
	from, to, err := p.Range()
	if err != nil {
		return nil, err
	}
	if p.Topic != "" {
		src, err := NewTopic(ctx, TopicConfig{
			Brokers: k.Brokers, Topic: p.Topic, From: from, To: to, Dialer: k.Dialer, Transport: k.Transport,
			Isolation: p.Isolation,
		})
		if err != nil {
			return nil, err
		}
		rc.Source = src
		return src.Count, nil
	}
	paths, err := ExpandFiles(p.Files)
	if err != nil {
		return nil, err
	}
	src, err := NewFiles(paths)
	if err != nil {
		return nil, err
	}
	rc.Source = src
	rc.From, rc.To = from, to
	return src.Count, nil
}

// ModelRef is one model a replay opens: its name in outputs and reports,
// its file (or registry folder), and its version.
type ModelRef struct {
	// Flag is the model as written on the command line, for errors.
	Flag    string
	Name    string
	Path    string
	Version string
}

// ParseModelRef splits [NAME=]PATH; the name defaults to the file name
// without its extension.
func ParseModelRef(s string) (name, path string) {
	if i := strings.IndexByte(s, '='); i > 0 && !strings.ContainsAny(s[:i], `/\`) {
		return s[:i], s[i+1:]
	}
	return model.NameFromPath(s), s
}

// ResolveModels returns the models to open: one per flag ([NAME=]PATH, each
// versioned by its content, see FileVersion), or, with no flag, the
// configured model (cfgPath, named cfgName or after its file, keeping
// cfgVersion, else versioned by content).
func ResolveModels(flags []string, cfgPath, cfgName, cfgVersion string) ([]ModelRef, error) {
	explicit := len(flags) > 0
	if !explicit {
		if cfgPath == "" {
			return nil, errors.New("--model PATH (or model.path in --config) is required")
		}
		name := cfgName
		if name == "" {
			name, _ = ParseModelRef(cfgPath)
		}
		flags = []string{name + "=" + cfgPath}
	}
	refs := make([]ModelRef, 0, len(flags))
	for _, fl := range flags {
		name, path := ParseModelRef(fl)
		ref := ModelRef{Flag: fl, Name: name, Path: path, Version: cfgVersion}
		if explicit || ref.Version == "" {
			v, err := FileVersion(path)
			if err != nil {
				return nil, fmt.Errorf("--model %s: %w", fl, err)
			}
			ref.Version = v
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

// FileVersion names a model file by its content: "sha256:" and 12 hex
// digits, so a report says exactly which bytes were scored. A registry
// folder is named by its manifest instead, so it gets "".
func FileVersion(path string) (string, error) {
	if st, err := os.Stat(path); err != nil {
		return "", err
	} else if st.IsDir() {
		return "", nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:12], nil
}

// WriteFiles writes the report to each path: .json as JSON, anything else
// (.html) as a page with charts.
func (r *Report) WriteFiles(paths ...string) error {
	for _, path := range paths {
		if err := r.writeFile(path); err != nil {
			return err
		}
	}
	return nil
}

func (r *Report) writeFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	if strings.ToLower(filepath.Ext(path)) == ".json" {
		err = r.WriteJSON(f)
	} else {
		err = r.WriteHTML(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing report %s: %w", path, err)
	}
	return nil
}
