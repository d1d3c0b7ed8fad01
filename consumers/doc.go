// Package consumers is the Kafka source of the engine: it joins a consumer
// group, reads the assigned partitions (by default through a Fetcher, one
// Fetch request per broker for all of its partitions), hands messages to the
// engine through a bounded channel, and commits offsets by a per-partition
// contiguous watermark once the engine acknowledges them.
//
// CheckOutputTopics is run's start-up check of the topics it writes, and
// WriteRecord how consume prints a record. ScanLetters summarises a
// dead-letter topic and DescribeTopics the cluster's topics; their results
// print themselves as text or JSON (LetterStats.WriteText, Topics.WriteText
// and the like), as the dlq and topics commands show them.
//
// It imports schemas and kafka-go, never the engine: Group satisfies the
// engine's Source interface by shape.
package consumers
