// Package features enriches scoring batches with online features stored in
// Redis, one entity per key, and writes them there (streamscore features
// load).
//
// It imports schemas (feature sets, their key templates and layouts),
// pipeline/rowfile (feature files) and go-redis; it never imports the engine.
// Store.Enrich takes and returns the engine's batch types
// (schemas.EnrichInput, schemas.EnrichResult), so a Store is the engine's
// FeatureStore as it stands. Config is the features section of
// streamscore.yaml. The code is one concern per file: config.go, store.go
// (Enrich), scratch.go (pooled working memory), flight.go (coalescing fetches
// across concurrent batches), fetch.go (the pipelined Redis round trip),
// cache.go, and the layouts (vector.go, decode.go).
//
// # One batch
//
// Store.Enrich takes a batch's feature matrix and, per feature set, each
// row's entity key. It looks up each distinct key once: first in the
// in-process cache, then, for every key the cache lacks, in ONE pipelined
// Redis round trip covering every feature set of the batch. A key another
// concurrent batch is already fetching is not fetched again: the batch waits
// for that fetch instead. Values are written into the matrix only once every
// lookup has succeeded, so on error the matrix still holds the schema
// defaults.
//
// A missing entity (absent, older than the set's max_age, written for another
// version of the set, or unreadable) leaves the set's defaults in the row;
// the row is reported missing and its values counted.
//
// # The vector layout (the default)
//
// One Redis string per entity, read with MGET, written with SET:
//
//	offset  size  field
//	0       4     magic "SSFV" (0x53 0x53 0x46 0x56)
//	4       2     feature-set version, uint16 little-endian
//	6       2     feature count n, uint16 little-endian
//	8       8     write time, int64 little-endian, Unix milliseconds
//	16      4n    n feature values, IEEE 754 float32 little-endian, in the
//	              order the schema lists the set's features
//
// A value whose version or count differs from the schema's is treated as
// missing (reason "version"): the layout changed and was not reloaded. Bad
// magic or a length other than 16+4n is reason "malformed". Other languages
// write it directly; in Python:
//
//	struct.pack("<4sHHq%df" % n, b"SSFV", version, n, int(time.time()*1000), *values)
//
// # The hash layout
//
// One Redis hash per entity, read with HMGET, one field per feature named
// after it, holding the value as decimal text, plus two optional fields:
// "_ts", the write time in Unix milliseconds, and "_v", the feature-set
// version. A hash with "_v" set to another version is missing (reason
// "version"). A hash without "_v" is accepted, so existing hashes work as
// they are. When the set has a max_age, a hash without "_ts" cannot prove
// its age and is missing (reason "stale"). A field that is absent or does
// not parse leaves that feature's default (the row is reported missing).
//
// Only the hash layout holds string features (type: string, with typed
// inputs): the field holds the string as is. They are not in the features
// matrix; Enrich writes them into the batch's own feature:<name> columns
// (schemas.Decoded.SetStrings), and the cache keeps them beside the numbers.
//
// # Keys and Redis Cluster
//
// The Redis key is the entity key exactly as the set's template builds it
// ("user:{user_id}" gives "user:42"), so keys written by other tools need no
// prefix. In Cluster mode the keys of a batch are grouped by hash slot
// (CRC16-XMODEM of the key, or of the text inside its first non-empty {...}
// hash tag, modulo 16384, as Redis computes it) and each slot gets one MGET;
// all of them go in the same pipeline, which go-redis sends to every master
// at once, so a batch still costs one (parallel) round trip. Key templates
// use {field} for substitution, so a template cannot write literal braces
// today: keys spread over slots by their whole text.
//
// # When Redis fails
//
// A round trip that fails (unreachable, timeout, an error reply) fails the
// whole Enrich call, and the engine's policy decides: fail_open scores with
// defaults, fail_closed retries. A hash-layout key holding another type
// (WRONGTYPE) is that entity's problem only: it counts as malformed (MGET
// reads a vector-layout key of another type as absent). For RetryInterval
// after a failure, calls that need Redis fail at once without trying it,
// so an outage costs each batch microseconds instead of a timeout; calls
// the cache answers entirely still succeed.
//
// # Metrics
//
// streamscore_features_lookups_total, _cache_hits_total and
// _cache_misses_total (by set; the hit ratio is hits over lookups),
// _missing_entities_total (by set and reason), _redis_round_trips_total and
// the _redis_seconds histogram of round-trip latency.
//
// # The local cache
//
// Each feature set has its own in-process cache, bounded in entries
// (CLOCK eviction) and in time: an entity found in Redis is served from the
// cache for CacheTTL, never past its max_age; a missing one is remembered
// for NegativeTTL (negative caching), so a burst of events for unknown
// entities costs one lookup, and an entity loaded meanwhile becomes visible
// within NegativeTTL.
//
// Open builds the store for run and serve; Load, FindSet and Inspection's
// WriteText and WriteJSON are what features load and features get do and
// print.
package features
