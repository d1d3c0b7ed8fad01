// Package servicetest holds what integration tests share when they drive
// real services: the services' addresses from the environment that
// `make up` writes (.run/env), a log buffer a child process writes while a
// test reads it, waiting for a logged listening address or partition
// assignment, scraping a Prometheus /metrics page, a private
// redis-server a test can stop and start again at the same address, and a
// Python virtual environment built from a pinned requirements file.
//
// It is for tests only (it takes a testing.TB everywhere) and imports the
// standard library and go-redis; no streamscore package.
package servicetest
