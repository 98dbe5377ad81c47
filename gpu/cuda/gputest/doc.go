// Package gputest runs gpu/cuda's tests where an NVIDIA GPU is present and
// skips them with a message elsewhere. gorgonia.org/cu exits any process
// that links it on a machine without a GPU (in its package init, before a
// test can skip), so the check lives here, in a package that does not link
// it, and the tests run in a child `go test` process.
package gputest
