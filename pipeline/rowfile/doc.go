// Package rowfile reads rows from the files streamscore takes as input:
// JSONL (one JSON object per line: .jsonl, .ndjson, .json), Parquet
// (.parquet, .pq) and Avro Object Container Files (.avro). Parquet and
// Avro files are read as Arrow records (Records), one column per top-level
// field, so their callers share one path (Format.Columnar); an Avro file's
// framing is read here with every length bounded, so a corrupt or
// truncated file is an error wrapping ErrCorrupt that names the block and
// row, never a crash. It holds what every file-reading command shares: the
// format by extension, glob expansion, counting rows for a progress total,
// one maximum line size, one policy for lines that are not JSON objects
// (chosen by the caller), and one switch over Arrow value types.
//
// It is used by the training reader of pipeline/drift (`streamscore
// baseline`), the feature file reader of pipeline/features (`streamscore
// features load`) and the file source of pipeline/replay (`streamscore
// replay`). Those three read the same files differently (columns of a
// chunk, one entity per row, raw events for the decoder), so rowfile hands
// out lines, parsed objects, Arrow records and Arrow values, and leaves
// what a row means to them.
//
// Where the three readers used to disagree, and what they share now:
//   - Maximum line: 64 MiB (baseline), 1 MiB (features load), 16 MiB
//     (replay). Now DefaultMaxLineBytes, 64 MiB, for all, so every file
//     any of them read is still read; replay keeps its Files.MaxLineBytes
//     knob. A too-long line is a *LineError naming file and line.
//   - A line that is not a JSON object: skipped and counted (baseline),
//     fatal (features load), dead-lettered by the event decoder (replay).
//     Each keeps its policy: Objects takes SkipBadLines or FailOnBadLine,
//     and replay reads raw Lines, since its decoder judges every event.
//   - Blank lines: baseline trimmed Unicode space, features load and
//     replay JSON space. Now JSON space (space, tab, CR, LF) for all.
//   - `.pq`: baseline and replay read it as Parquet, features load as
//     JSONL. Now Parquet for all; features load still reads a file of any
//     other extension as JSONL.
//   - Counting for a progress total: features load failed past 16 MiB
//     lines, replay did not. Now Count never fails on a line's length.
//   - Arrow values: two type switches (and a third in replay's JSON row
//     encoder) became ValueAt. Changes: a baseline passthrough column of
//     integers from Parquet takes the integer's decimal text (it was
//     1.2345678e+07 for 12345678, unlike the same value from JSONL); a
//     large-string column's values that read as numbers count as numbers,
//     as a string column's did; dictionary columns are read by value in
//     baseline and in features load key fields, and 8- and 16-bit integers
//     are accepted as key fields.
//
// rowfile imports Arrow, the JSON parser, hamba/avro (Avro schemas and
// block codecs), klauspost/compress (zstandard) and schemas (for its JSON
// string encoding) only.
package rowfile
