// Package replay runs backtests through the production scoring path: it
// drives the real pipeline.Engine with a bounded Source (a topic's time range
// read partition by partition from Kafka's offsets-for-times, or JSONL and
// Parquet files), scores every batch with one or several models (champion and
// challengers), collects each row's id, key, event time, label and every
// model's outputs, writes them to a file or a topic of its own, and computes
// the metrics a data scientist expects: ROC AUC, PR AUC, log loss, Brier
// score, threshold metrics and a calibration table for classifiers; RMSE,
// MAE, R² and MAPE for regressors; and, for several models, how often and by
// how much they disagree.
//
// A replay never joins a consumer group and never commits offsets. Its
// outputs are deterministic: rows leave in source order (file order, line
// order; for topics a merge of the partitions by record time, partition and
// offset), batches close only on size, never on time, and nothing
// time-dependent is written, so the same inputs give byte-identical outputs.
//
// It imports pipeline (it drives the engine), schemas, pipeline/rowfile (the
// input files), the Kafka client and Arrow/Parquet; cmd wires models and outputs into it, and nothing here
// imports cmd.
package replay
