// Package registry is a client of a Confluent-compatible schema registry
// (Confluent Schema Registry, Apicurio Registry's ccompat API, Redpanda,
// Karapace): writer schemas by id, subjects and their versions, and
// registering a schema, over HTTP or HTTPS with basic auth, with a cache.
// Attach gives a schema spec its writer schemas: local files first, then
// the registry.
//
// It imports schemas only.
package registry
