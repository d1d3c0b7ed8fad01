package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/pipeline/model"
)

func newModelSchemaCmd() *cobra.Command {
	var lib string
	cmd := &cobra.Command{
		Use:   "schema FILE",
		Short: "Write a starting event schema (YAML) from a model's inputs and outputs",
		Long: `schema reads a model's signature and prints an event schema that fits it:
one feature per input, named after the input, of the input's type ([N] and
[N, 1] inputs take one value per event, [N, k] an array of k numbers),
bound to the model by name; a model with one float32 [N, F] input gets F
features and the single-input form. Every output is listed.

  streamscore model schema model.onnx > schema.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := model.Init(lib); err != nil {
				return err
			}
			in, err := model.Inspect(args[0])
			if err != nil {
				return err
			}
			text, err := model.StarterSchema(args[0], in.Inputs, in.Outputs)
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), text)
			return err
		},
	}
	runtimeFlag(cmd, &lib)
	return cmd
}
