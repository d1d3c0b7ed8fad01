package main

// commit is set at build time with -ldflags "-X main.commit=..." (make
// build does); empty means the VCS revision Go recorded, if any.
var commit = ""
