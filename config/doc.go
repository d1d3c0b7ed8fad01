// Package config assembles streamscore.yaml from the configurations the
// packages own, and is the only place that knows the file's layout.
//
// Each package that is configured owns its section's type, with yaml tags,
// defaults for its zero values and a Validate that names the key and the
// fix: features.Config is the features section, drift.Config the drift
// section, model.Config the model's session keys (inlined into the model
// section beside the line-up keys declared here). This package declares
// the sections that configure the binary's wiring rather than one package
// (brokers, topics, batch, pipeline, consumer, producer, http, log, redis,
// kafka security), and:
//
//   - Load reads a file over Default: ${NAME} and ${NAME:-default} are
//     expanded from the environment outside comments, and every problem is
//     reported at once, each as file:line:column, key path and fix: tabs,
//     syntax, unknown keys (with the nearest known key), values of the
//     wrong type (in YAML terms: "a duration such as 20ms"), and values
//     outside their lists (enums, http.addr). A problem never quotes a
//     value that came from the environment, and a syntax error quotes the
//     line as written, so a secret is not printed. Then
//     relative paths are resolved against the file's folder, and
//     STREAMSCORE_BROKERS, STREAMSCORE_REDIS and ONNXRUNTIME_LIB override
//     their keys.
//   - Config.Validate reports every problem at once, each prefixed with its
//     section (InSection turns a package's "cache_ttl: ..." into
//     "features.cache_ttl: ...") and, for a Config that Load read, with
//     the key's file:line:column.
//   - Config.ConsumerConfig and Config.ProducerConfig translate the file's
//     keys into the adapters' configurations.
//
// It imports the adapters' packages for their Config types; only cmd
// imports it. Adapters and the engine never do.
package config
