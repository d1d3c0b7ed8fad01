package main

import (
	"errors"
	"fmt"
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
				return in.WriteJSON(cmd.OutOrStdout())
			}
			return in.WriteText(cmd.OutOrStdout())
		},
	}
	runtimeFlag(cmd, &lib)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (snake_case keys)")
	return cmd
}

func newModelValidateCmd() *cobra.Command {
	var (
		lib, schemaPath, golden string
		tolerance               float64
		rows                    int
		asJSON                  bool
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
     expected scores within the tolerance.

A version that fails a step exits 3; one that cannot be read exits 1.`,
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
			if _, err := model.ReadManifest(args[0]); err != nil {
				return err
			}
			m, rep, err := model.LoadDir(cmd.Context(), args[0], opts)
			if err != nil {
				// The version is there and was refused: exit 3.
				return checkFailed(err)
			}
			defer m.Close()
			if asJSON {
				return rep.WriteValidationJSON(cmd.OutOrStdout(), opts)
			}
			return rep.WriteText(cmd.OutOrStdout(), schemaPath, opts)
		},
	}
	runtimeFlag(cmd, &lib)
	cmd.Flags().StringVar(&schemaPath, "schema", "", "event schema the binding must match")
	cmd.Flags().StringVar(&golden, "golden", "", "golden file of inputs and expected outputs (default: the manifest's)")
	cmd.Flags().Float64Var(&tolerance, "tolerance", 0, "largest absolute difference allowed (default 1e-5)")
	cmd.Flags().IntVar(&rows, "rows", 0, "rows in the smoke batch (default 64)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (snake_case keys)")
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
			return model.OptimizeAndCompare(cmd.Context(), cmd.OutOrStdout(), args[0], args[1], model.OptimizeOptions{
				Level: level, Compare: compare, Rows: rows, Duration: duration,
			})
		},
	}
	runtimeFlag(cmd, &lib)
	cmd.Flags().StringVar(&level, "level", "all", "graph optimisation level: basic, extended or all")
	cmd.Flags().BoolVar(&compare, "compare", true, "measure start-up and scoring of both files")
	cmd.Flags().IntVar(&rows, "rows", 256, "rows per batch when measuring scoring")
	cmd.Flags().DurationVar(&duration, "duration", 2*time.Second, "how long to measure scoring, per file")
	return cmd
}

func newModelRegisterCmd() *cobra.Command {
	var (
		root, schemaPath string
		nv               model.NewVersion
		threshold        float64
		activate         bool
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
			if cmd.Flags().Changed("threshold") {
				nv.Threshold = &threshold
			}
			reg := model.Registry{Root: root}
			dir, err := reg.RegisterVersion(args[0], spec, nv)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "registered %s version %s in %s\n", nv.Name, nv.Version, dir)
			if activate {
				if err := reg.SetActive(nv.Name, nv.Version); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s/%s/%s now names version %s\n", root, nv.Name, model.ActiveFile, nv.Version)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&root, "registry", "models", "registry folder")
	f.StringVar(&nv.Name, "name", "", "model name (required)")
	f.StringVar(&nv.Version, "version", "", "version (required; numbers sort numerically)")
	f.StringVar(&schemaPath, "schema", "", "event schema the model binds to (required)")
	f.StringArrayVar(&nv.Meanings, "meaning", nil, "what an output means, as output=text (repeatable)")
	f.Float64Var(&threshold, "threshold", 0, "decision threshold on the first output")
	f.StringVar(&nv.Golden, "golden", "", "golden file of inputs and expected outputs, checked at every load")
	f.Float64Var(&nv.Tolerance, "tolerance", 0, "golden tolerance (default 1e-5)")
	f.StringVar(&nv.Description, "description", "", "free text: training data, owner, ticket")
	f.BoolVar(&activate, "activate", false, "also make it the active version")
	cmd.MarkFlagRequired("name")
	cmd.MarkFlagRequired("version")
	return cmd
}

func newModelListCmd() *cobra.Command {
	var (
		root   string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list [NAME]",
		Short: "List the registry's models and versions",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			entries, err := model.Registry{Root: root}.List(args)
			if err != nil {
				return err
			}
			if asJSON {
				return model.WriteListJSON(cmd.OutOrStdout(), entries)
			}
			return model.WriteList(cmd.OutOrStdout(), entries)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (snake_case keys)")
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
