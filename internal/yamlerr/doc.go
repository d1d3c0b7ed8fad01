// Package yamlerr turns mistakes in a YAML file read into Go structs into
// errors that say where each one is and what to write instead, as a
// compiler's do:
//
//	streamscore.yaml:12:3: model.sesions: unknown key; did you mean sessions?
//
// It walks a file's yaml.Node tree against the Go type it decodes into and
// reports every problem at once: tabs, syntax, unknown keys (with the
// nearest known key), and values of the wrong YAML type ("a duration such
// as 20ms"). It imports nothing of streamscore's, so the packages that read
// YAML files (config, schemas) can share it.
package yamlerr
