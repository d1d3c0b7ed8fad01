// Package letterlog logs dead letters as rate-limited summaries: the first
// few in full, then one line per interval with the counts by reason. The
// engine logs every dead letter through it; the Kafka sink logs through it
// the letters it drops when no dead-letter topic is configured.
//
// It imports schemas only.
package letterlog
