package main

// ModelConfig says which model scores and how ONNX Runtime runs it.
type ModelConfig struct {
	Path              string `yaml:"path"`
	Name              string `yaml:"name"`
	Version           string `yaml:"version"`
	Sessions          int    `yaml:"sessions"`
	IntraOpThreads    int    `yaml:"intra_op_threads"`
	InterOpThreads    int    `yaml:"inter_op_threads"`
	Spinning          bool   `yaml:"spinning"`
	GraphOptimization string `yaml:"graph_optimization"`
}
