package drift

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/valyala/fastjson"

	"github.com/streamscore/streamscore/pipeline/rowfile"
	"github.com/streamscore/streamscore/schemas"
)

// EventReader reads a training file as the events a typed model is fed
// (replay.Files does): it sends each row to out as one message, in file
// order, a JSONL line as it is and a Parquet row as a JSON object, and
// closes out when it returns. It returns early, with nil, when ctx is done.
type EventReader func(ctx context.Context, path string, out chan<- schemas.Message) error

// Prober decodes rows synthetic events of a typed spec, the ones a
// scorer's probe scores (model.SmokeBatch). The caller releases the batch.
type Prober func(spec *schemas.Spec, rows int) (*schemas.Decoded, error)

// probeTyped scores one synthetic decoded event of a typed spec, as the
// canary probe does, and returns the scorer's outputs.
func probeTyped(ctx context.Context, sc Scorer, probe Prober, spec *schemas.Spec) (schemas.ScoreResult, error) {
	if probe == nil {
		return schemas.ScoreResult{}, errors.New("the schema feeds typed inputs and the build has no prober for them (BuildConfig.Probe)")
	}
	d, err := probe(spec, 1)
	if err != nil {
		return schemas.ScoreResult{}, err
	}
	defer d.Release()
	return sc.Score(ctx, schemas.ScoreInput{Features: d.Features(), Rows: 1, Cols: spec.Columns(), Keys: []string{""}, Columns: d.Record})
}

// typedFeed hands a typed model the training rows of one file the way
// replay hands it file rows: an EventReader (replay.Files) reads the file
// into messages, the schema's decoder turns them into the Arrow record
// whose typed columns the model reads. Its messages follow
// the TrainingReader's rows one for one: both skip the lines that are not
// JSON objects.
type typedFeed struct {
	spec   *schemas.Spec
	dec    *schemas.Decoder
	jsonl  bool
	msgs   chan schemas.Message
	errc   chan error
	cancel context.CancelFunc
	parser fastjson.Parser
}

// openTypedFeed starts reading path.
func openTypedFeed(ctx context.Context, spec *schemas.Spec, dec *schemas.Decoder, events EventReader, path string) (*typedFeed, error) {
	if events == nil {
		return nil, errors.New("the schema feeds typed inputs and the build has no event reader for them (BuildConfig.Events)")
	}
	format, err := rowfile.FormatOf(path)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	f := &typedFeed{spec: spec, dec: dec, jsonl: format == rowfile.JSONL, msgs: make(chan schemas.Message, trainingBatchRows), errc: make(chan error, 1), cancel: cancel}
	go func() { f.errc <- events(ctx, path, f.msgs) }()
	return f, nil
}

// next returns the next n messages that are training rows.
func (f *typedFeed) next(n int) ([]schemas.Message, error) {
	out := make([]schemas.Message, 0, n)
	for len(out) < n {
		m, ok := <-f.msgs
		if !ok {
			err := <-f.errc
			f.errc <- err
			if err == nil {
				err = errors.New("the file ended before the rows read for the baseline")
			}
			return nil, fmt.Errorf("reading training rows for the model: %w", err)
		}
		if f.jsonl {
			v, err := f.parser.ParseBytes(m.Value)
			if err != nil || v.Type() != fastjson.TypeObject {
				continue // skipped by the TrainingReader too
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// close stops the read and waits for it; it returns the read's error.
func (f *typedFeed) close() error {
	f.cancel()
	for range f.msgs {
	}
	err := <-f.errc
	f.errc <- err
	return err
}

// score fills the output columns of tb by scoring its rows,
// decoded by the schema, with a typed model. A row the decoder refuses (a
// dead letter when live) has no prediction: NaN, counted as missing.
func (f *typedFeed) score(ctx context.Context, sc Scorer, cols []Column, tb *TrainingBatch) error {
	msgs, err := f.next(tb.Rows)
	if err != nil {
		return err
	}
	d := f.dec.Decode(msgs)
	defer d.Release()
	rowOf := make([]int, tb.Rows)
	for i := range rowOf {
		rowOf[i] = -1
	}
	for r, m := range d.Rows {
		rowOf[m] = r
	}
	var res schemas.ScoreResult
	if n := int(d.Record.NumRows()); n > 0 {
		res, err = sc.Score(ctx, schemas.ScoreInput{Features: d.Features(), Rows: n, Cols: f.spec.Columns(), Keys: make([]string, n), Columns: d.Record})
		if err != nil {
			return fmt.Errorf("scoring training rows: %w", err)
		}
	}
	fillOutputs(cols, tb, res, func(i int) int { return rowOf[i] })
	return nil
}

// newTypedDecoder returns the decoder typed training rows go through.
func newTypedDecoder(spec *schemas.Spec) *schemas.Decoder {
	return schemas.NewDecoder(spec, memory.DefaultAllocator)
}
