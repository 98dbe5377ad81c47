// Package soak samples a running mediad (memory, goroutines, threads,
// file descriptors) for the soak run, writes the samples as CSV and charts,
// and fits a least-squares slope to each: a figure, never a pass/fail.
package soak

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Sample is one reading of the server process.
type Sample struct {
	T          time.Duration // since the soak started
	RSSBytes   int64         // resident set (VmRSS)
	Threads    int           // OS threads
	FDs        int           // open file descriptors
	Goroutines int           // go_goroutines from /metrics; -1 when unread
	HeapBytes  int64         // go_memstats_heap_inuse_bytes from /metrics; -1 when unread
	Viewers    int           // viewers that received video since the last sample
}

// ReadProc reads the resident set size and thread count from
// /proc/PID/status and counts /proc/PID/fd.
func ReadProc(pid int) (rss int64, threads, fds int, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	rss, threads, err = parseStatus(b)
	if err != nil {
		return 0, 0, 0, err
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	return rss, threads, len(ents), nil
}

// parseStatus reads VmRSS (in kB) and Threads from a /proc/PID/status text.
func parseStatus(b []byte) (rss int64, threads int, err error) {
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		switch k {
		case "VmRSS":
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil || len(f) != 2 || f[1] != "kB" {
				return 0, 0, fmt.Errorf("VmRSS %q", v)
			}
			rss, found = kb<<10, found+1
		case "Threads":
			n, err := strconv.Atoi(f[0])
			if err != nil {
				return 0, 0, fmt.Errorf("threads %q", v)
			}
			threads, found = n, found+1
		}
	}
	if found != 2 {
		return 0, 0, errors.New("no VmRSS or Threads in the process status")
	}
	return rss, threads, nil
}

// Metrics are the figures read from the server's Prometheus endpoint.
type Metrics struct {
	Goroutines int   // go_goroutines
	HeapBytes  int64 // go_memstats_heap_inuse_bytes: the Go heap, apart from FFmpeg's C memory
}

// ReadMetrics reads go_goroutines and go_memstats_heap_inuse_bytes from a
// Prometheus text endpoint; token, when set, is sent as a bearer token.
func ReadMetrics(client *http.Client, url, token string) (Metrics, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return Metrics{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return Metrics{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Metrics{}, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return parseMetrics(io.LimitReader(resp.Body, 16<<20))
}

func parseMetrics(r io.Reader) (Metrics, error) {
	m := Metrics{Goroutines: -1, HeapBytes: -1}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if !ok || (name != "go_goroutines" && name != "go_memstats_heap_inuse_bytes") {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return m, fmt.Errorf("%s %q", name, v)
		}
		if name == "go_goroutines" {
			m.Goroutines = int(f)
		} else {
			m.HeapBytes = int64(f)
		}
	}
	if err := sc.Err(); err != nil {
		return m, err
	}
	if m.Goroutines < 0 || m.HeapBytes < 0 {
		return m, errors.New("no go_goroutines or go_memstats_heap_inuse_bytes in the metrics")
	}
	return m, nil
}
