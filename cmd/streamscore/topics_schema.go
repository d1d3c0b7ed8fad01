package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/streamscore/streamscore/config"
	"github.com/streamscore/streamscore/schemas"
)

func newTopicsSchemaCmd() *cobra.Command {
	var configPath, schemaPath string
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Print the Avro schema of the scored events",
		Long: `schema prints the Avro schema of the scored events that run writes with
topics.output_format: avro: the schema run registers under the subject
"<topics.output>-value", or the one to register yourself before setting
topics.output_schema_id. It is derived from the event schema (its outputs
and passthrough fields) and does not depend on topics.output_format.`,
		Example: `  streamscore topics schema --config streamscore.yaml > scored.avsc
  streamscore topics schema --schema schema.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := schemaPath
			switch {
			case configPath != "" && schemaPath != "":
				return errors.New("give --config or --schema, not both")
			case configPath != "":
				cfg, err := config.Load(configPath)
				if err != nil {
					return err
				}
				path = cfg.Schema
			case schemaPath == "":
				return errors.New("--config (streamscore.yaml) or --schema (the event schema) is required")
			}
			spec, err := schemas.Load(path)
			if err != nil {
				return err
			}
			text, err := schemas.ScoredAvroSchema(spec)
			if err != nil {
				return err
			}
			var out bytes.Buffer
			if err := json.Indent(&out, []byte(text), "", "  "); err != nil {
				return fmt.Errorf("the scored-event schema is not JSON: %w", err)
			}
			out.WriteByte('\n')
			_, err = cmd.OutOrStdout().Write(out.Bytes())
			return err
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "configuration file (streamscore.yaml); its schema is read")
	cmd.Flags().StringVar(&schemaPath, "schema", "", "event schema file (instead of --config)")
	return cmd
}
