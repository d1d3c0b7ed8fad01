// Package contracts holds the JSON Schema (draft 2020-12) files of the
// records streamscore publishes, versioned by file name:
//
//   - scored-event.v1.json: a record on the output topic;
//   - dead-letter.v1.json: a record on the dead-letter topic (its headers,
//     key and value, as `consume --headers` and `dlq inspect --json` print it);
//   - replay-out.v1.json: a line of `replay --out FILE.jsonl`.
//
// The files are the published contract: consumers of streamscore's topics
// may validate against them with any JSON Schema validator. The package
// embeds them and validates documents against them, for tests of the code
// that writes those records. It imports nothing from streamscore.
package contracts
