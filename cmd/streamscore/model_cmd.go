package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/pipeline/model"
	"github.com/streamscore/streamscore/schemas"
)

func init() { commands = append(commands, newModelCmd) }

func newModelCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Inspect, validate, optimise and register ONNX models",
		Long: `model works with ONNX model files and the model registry on disk:

  models/<name>/<version>/model.onnx
  models/<name>/<version>/manifest.json   sha256, schema binding, output meanings,
                                          decision threshold, golden file, created time
  models/<name>/active                    the version to serve (optional; else the newest)

Point model.path at models/<name> to serve the active version; activate
others with POST /admin/models/<name>/activate or, with model.watch set, by
rewriting the active file (model activate).`,
	}
	cmd.AddCommand(newModelInspectCmd(), newModelValidateCmd(), newModelOptimizeCmd(),
		newModelRegisterCmd(), newModelListCmd(), newModelActivateCmd(), newModelSchemaCmd())
	return cmd
}

// runtimeFlag adds --onnxruntime-lib.
func runtimeFlag(cmd *cobra.Command, lib *string) {
	cmd.Flags().StringVar(lib, "onnxruntime-lib", "", "path of libonnxruntime.so.1 (default $ONNXRUNTIME_LIB)")
}

func newModelInspectCmd() *cobra.Command {
	var (
		lib    string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "inspect FILE",
		Short: "Print a model's inputs, outputs, shapes, types, opset and metadata",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := model.Init(lib); err != nil {
				return err
			}
			in, err := model.Inspect(args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return writeIndented(cmd.OutOrStdout(), in)
			}
			printInspection(cmd.OutOrStdout(), in)
			return nil
		},
	}
	runtimeFlag(cmd, &lib)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printInspection(out io.Writer, in model.Inspection) {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "file\t%s (%d bytes)\n", in.Path, in.Size)
	fmt.Fprintf(w, "sha256\t%s\n", in.SHA256)
	fmt.Fprintf(w, "ir_version\t%d\n", in.IRVersion)
	opsets := make([]string, len(in.Opsets))
	for i, o := range in.Opsets {
		opsets[i] = o.String()
	}
	fmt.Fprintf(w, "opset\t%s\n", strings.Join(opsets, ", "))
	fmt.Fprintf(w, "producer\t%s\n", strings.TrimSpace(in.ProducerName+" "+in.ProducerVersion))
	if in.Domain != "" || in.ModelVersion != 0 {
		fmt.Fprintf(w, "domain, model_version\t%s, %d\n", in.Domain, in.ModelVersion)
	}
	fmt.Fprintf(w, "graph\t%s: %d nodes, %d initializers, %d parameters\n", in.GraphName, in.Nodes, in.Initializers, in.Parameters)
	if in.ExternalData {
		fmt.Fprintf(w, "external data\tyes (weights in files beside the model)\n")
	}
	ops := in.OpNames()
	for i, op := range ops {
		ops[i] = fmt.Sprintf("%s×%d", op, in.Ops[op])
	}
	fmt.Fprintf(w, "operators\t%s\n", strings.Join(ops, ", "))
	if in.DocString != "" {
		fmt.Fprintf(w, "doc\t%s\n", in.DocString)
	}
	fmt.Fprintln(w, "inputs")
	for _, t := range in.Inputs {
		fmt.Fprintf(w, "  %s\t%s %s\n", t.Name, t.ElementType, shapeText(t.Shape))
	}
	fmt.Fprintln(w, "outputs")
	for _, t := range in.Outputs {
		fmt.Fprintf(w, "  %s\t%s %s\n", t.Name, t.ElementType, shapeText(t.Shape))
	}
	if len(in.Metadata) > 0 {
		fmt.Fprintln(w, "metadata")
		for _, k := range sortedKeys(in.Metadata) {
			fmt.Fprintf(w, "  %s\t%s\n", k, in.Metadata[k])
		}
	}
	w.Flush()
}

func shapeText(shape []int64) string {
	if shape == nil {
		return ""
	}
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = "?"
		if d >= 0 {
			parts[i] = fmt.Sprint(d)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

func writeIndented(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func newModelValidateCmd() *cobra.Command {
	var (
		lib, schemaPath, golden string
		tolerance               float64
		rows                    int
	)
	cmd := &cobra.Command{
		Use:   "validate DIR",
		Short: "Check a registered version: sha256, load, schema binding, smoke batch, golden outputs",
		Long: `validate checks the registry version in DIR (models/<name>/<version>) the
way an activation does, and says which step failed:

  1. the model file's sha256 matches the manifest (else it is never loaded);
  2. ONNX Runtime loads it;
  3. the manifest's binding matches the schema's (--schema): input name,
     feature names and order, output names and their scored-event names,
     and the model's declared input shape and outputs fit;
  4. a smoke batch of --rows random rows scores to finite outputs;
  5. with a golden file (--golden, or the manifest's), the outputs match the
     expected scores within the tolerance.`,
		Example: `  streamscore model validate models/fraud/3 --schema payments.schema.yaml
  streamscore model validate models/fraud/3 --schema payments.schema.yaml --golden expected.json --tolerance 1e-4`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := model.Init(lib); err != nil {
				return err
			}
			opts := model.LoadOptions{WarmupRows: rows, Golden: golden, Tolerance: tolerance}
			if schemaPath != "" {
				spec, err := schemas.Load(schemaPath)
				if err != nil {
					return err
				}
				want := model.BindingFor(spec)
				opts.Want = &want
			}
			m, rep, err := model.LoadDir(cmd.Context(), args[0], opts)
			if err != nil {
				return err
			}
			defer m.Close()
			out := cmd.OutOrStdout()
			man := rep.Manifest
			fmt.Fprintf(out, "%s version %s: valid\n", man.Name, man.Version)
			fmt.Fprintf(out, "  sha256   %s (matches the manifest)\n", man.SHA256)
			fmt.Fprintf(out, "  load     %s\n", rep.Open.Round(time.Microsecond))
			if opts.Want != nil {
				fmt.Fprintf(out, "  binding  matches schema %s (input %s, %d features, outputs %v)\n", schemaPath, opts.Want.Input, len(opts.Want.Features), opts.Want.Names())
			} else {
				fmt.Fprintf(out, "  binding  checked against the manifest only (pass --schema to check the event schema)\n")
			}
			smoke := rows
			if smoke == 0 {
				smoke = model.DefaultWarmupRows
			}
			fmt.Fprintf(out, "  smoke    %d rows in %s, output widths %v\n", smoke, rep.Warmup.Round(time.Microsecond), rep.Widths)
			if rep.GoldenRows > 0 {
				fmt.Fprintf(out, "  golden   %d rows, largest difference %.3g\n", rep.GoldenRows, rep.GoldenMaxDiff)
			} else {
				fmt.Fprintf(out, "  golden   none (pass --golden or set golden in the manifest)\n")
			}
			return nil
		},
	}
	runtimeFlag(cmd, &lib)
	cmd.Flags().StringVar(&schemaPath, "schema", "", "event schema the binding must match")
	cmd.Flags().StringVar(&golden, "golden", "", "golden file of inputs and expected outputs (default: the manifest's)")
	cmd.Flags().Float64Var(&tolerance, "tolerance", 0, "largest absolute difference allowed (default 1e-5)")
	cmd.Flags().IntVar(&rows, "rows", 0, "rows in the smoke batch (default 64)")
	return cmd
}

func newModelOptimizeCmd() *cobra.Command {
	var (
		lib, level string
		rows       int
		duration   time.Duration
		compare    bool
	)
	cmd := &cobra.Command{
		Use:   "optimize IN OUT",
		Short: "Save ONNX Runtime's optimised graph, and compare start-up and scoring",
		Long: `optimize loads IN with ONNX Runtime's graph optimisations (--level) and saves
the optimised graph to OUT. A scorer that loads OUT with
model.graph_optimization: disable skips the optimisation at start-up and at
every activation.

It then compares IN (loaded with --level) and OUT (loaded with optimisation
off): the time to open one session, and scoring throughput at --rows rows
per batch. Levels above basic may fuse operators into ones only ONNX Runtime
knows and lay data out for this CPU: use OUT with ONNX Runtime, on machines
of the same kind.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := model.Init(lib); err != nil {
				return err
			}
			in, outPath := args[0], args[1]
			if err := model.Optimize(model.Config{Path: in, GraphOptimization: level}, outPath); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			a, err := model.Inspect(in)
			if err != nil {
				return err
			}
			b, err := model.Inspect(outPath)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "optimized %s -> %s (level %s)\n", in, outPath, orDefault(level, "all"))
			fmt.Fprintf(out, "  nodes        %d -> %d\n", a.Nodes, b.Nodes)
			fmt.Fprintf(out, "  bytes        %d -> %d\n", a.Size, b.Size)
			if !compare {
				return nil
			}
			orig, err := measureModel(cmd.Context(), model.Config{Path: in, GraphOptimization: level}, rows, duration)
			if err != nil {
				return err
			}
			opt, err := measureModel(cmd.Context(), model.Config{Path: outPath, GraphOptimization: model.GraphOptimizationDisable}, rows, duration)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "  start-up     %s (optimised at load) -> %s (loaded pre-optimised), %.2fx\n",
				orig.open.Round(time.Microsecond), opt.open.Round(time.Microsecond), orig.open.Seconds()/opt.open.Seconds())
			fmt.Fprintf(out, "  scoring      %.0f -> %.0f rows/s at %d rows per batch, %.2fx\n", orig.rowsPerSec, opt.rowsPerSec, rows, opt.rowsPerSec/orig.rowsPerSec)
			return nil
		},
	}
	runtimeFlag(cmd, &lib)
	cmd.Flags().StringVar(&level, "level", "all", "graph optimisation level: basic, extended or all")
	cmd.Flags().BoolVar(&compare, "compare", true, "measure start-up and scoring of both files")
	cmd.Flags().IntVar(&rows, "rows", 256, "rows per batch when measuring scoring")
	cmd.Flags().DurationVar(&duration, "duration", 2*time.Second, "how long to measure scoring, per file")
	return cmd
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

type measurement struct {
	open       time.Duration // median of 5 opens
	rowsPerSec float64
}

// measureModel opens cfg five times (one session each) and keeps the median
// open time, then scores rows-row batches of random data for d.
func measureModel(ctx context.Context, cfg model.Config, rows int, d time.Duration) (measurement, error) {
	var opens []time.Duration
	var m *model.Model
	for i := range 5 {
		start := time.Now()
		mm, err := model.Open(cfg)
		if err != nil {
			return measurement{}, err
		}
		opens = append(opens, time.Since(start))
		if i < 4 {
			mm.Close()
		} else {
			m = mm
		}
	}
	defer m.Close()
	slices.Sort(opens)
	ins := m.Inputs()
	if len(ins) != 1 || len(ins[0].Shape) != 2 || ins[0].Shape[1] < 1 {
		return measurement{}, errors.New("measuring: the model needs one [N, F] input with a fixed F")
	}
	cols := int(ins[0].Shape[1])
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for range 20 { // warm up
		if _, err := m.Score(ctx, x, rows, cols); err != nil {
			return measurement{}, err
		}
	}
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		if _, err := m.Score(ctx, x, rows, cols); err != nil {
			return measurement{}, err
		}
		n++
	}
	return measurement{open: opens[len(opens)/2], rowsPerSec: float64(n*rows) / time.Since(start).Seconds()}, nil
}

func newModelRegisterCmd() *cobra.Command {
	var (
		root, name, version, schemaPath, golden, description string
		tolerance, threshold                                 float64
		meanings                                             []string
		activate                                             bool
	)
	cmd := &cobra.Command{
		Use:   "register FILE",
		Short: "Add a model file to the registry as a new version, with its manifest",
		Long: `register copies FILE into <registry>/<name>/<version>/model.onnx and writes
its manifest: the file's sha256, the schema binding (from --schema: input,
feature names, outputs and their scored-event names), what each output means
(--meaning as=text), the decision threshold, the golden file (copied in) and
the creation time. The folder appears in one rename, so a watching scorer
never sees half a version. Versions are immutable.`,
		Example: `  streamscore model register fraud.onnx --registry models --name fraud --version 3 \
      --schema payments.schema.yaml --meaning "score=probability of fraud" --threshold 0.8`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if schemaPath == "" {
				return errors.New("--schema is required: the manifest records the binding the model was trained for")
			}
			spec, err := schemas.Load(schemaPath)
			if err != nil {
				return err
			}
			man := model.Manifest{Name: name, Version: version, Description: description, Schema: spec.String(), Binding: model.BindingFor(spec)}
			for _, mn := range meanings {
				as, text, ok := strings.Cut(mn, "=")
				found := false
				for i := range man.Binding.Outputs {
					o := &man.Binding.Outputs[i]
					if ok && (o.As == as || o.Name == as) {
						o.Meaning, found = text, true
					}
				}
				if !found {
					return fmt.Errorf("--meaning %q: write output=text, naming one of the schema's outputs", mn)
				}
			}
			if cmd.Flags().Changed("threshold") {
				man.Threshold = &threshold
			}
			if golden != "" {
				man.Golden = &model.GoldenRef{File: golden, Tolerance: tolerance}
			}
			reg := model.Registry{Root: root}
			dir, err := reg.Register(args[0], man)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "registered %s version %s in %s\n", name, version, dir)
			if activate {
				if err := reg.SetActive(name, version); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s/%s/%s now names version %s\n", root, name, model.ActiveFile, version)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&root, "registry", "models", "registry folder")
	f.StringVar(&name, "name", "", "model name (required)")
	f.StringVar(&version, "version", "", "version (required; numbers sort numerically)")
	f.StringVar(&schemaPath, "schema", "", "event schema the model binds to (required)")
	f.StringArrayVar(&meanings, "meaning", nil, "what an output means, as output=text (repeatable)")
	f.Float64Var(&threshold, "threshold", 0, "decision threshold on the first output")
	f.StringVar(&golden, "golden", "", "golden file of inputs and expected outputs, checked at every load")
	f.Float64Var(&tolerance, "tolerance", 0, "golden tolerance (default 1e-5)")
	f.StringVar(&description, "description", "", "free text: training data, owner, ticket")
	f.BoolVar(&activate, "activate", false, "also make it the active version")
	cmd.MarkFlagRequired("name")
	cmd.MarkFlagRequired("version")
	return cmd
}

func newModelListCmd() *cobra.Command {
	var root string
	cmd := &cobra.Command{
		Use:   "list [NAME]",
		Short: "List the registry's models and versions",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			reg := model.Registry{Root: root}
			names := args
			if len(names) == 0 {
				var err error
				if names, err = reg.Names(); err != nil {
					return err
				}
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "MODEL\tVERSION\tACTIVE\tCREATED\tSHA256\tDESCRIPTION")
			for _, name := range names {
				vs, err := reg.Versions(name)
				if err != nil {
					return err
				}
				active, _ := reg.Active(name)
				for _, v := range vs {
					man, err := model.ReadManifest(reg.Dir(name, v))
					if err != nil {
						fmt.Fprintf(w, "%s\t%s\t\t\t\t(%v)\n", name, v, err)
						continue
					}
					mark := ""
					if v == active {
						mark = "*"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%.12s\t%s\n", name, v, mark, man.Created.Format(time.RFC3339), man.SHA256, man.Description)
				}
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&root, "registry", "models", "registry folder")
	return cmd
}

func newModelActivateCmd() *cobra.Command {
	var root string
	cmd := &cobra.Command{
		Use:   "activate NAME VERSION",
		Short: "Name the version to serve in the registry's active file (picked up by model.watch)",
		Long: `activate rewrites <registry>/<name>/active atomically. Scorers with
model.watch set load, validate and warm up the version and swap it in between
batches; one that refuses it keeps its current version and logs why. For an
immediate answer from a running scorer use POST /admin/models/<name>/activate.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			reg := model.Registry{Root: root}
			if err := reg.SetActive(args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s version %s is now the active version in %s\n", args[0], args[1], root)
			return nil
		},
	}
	cmd.Flags().StringVar(&root, "registry", "models", "registry folder")
	return cmd
}
