package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// profiler takes mediad's profiles over one step's window through its
// --pprof listener: CPU over the window, allocations at its start and end
// (compare with go tool pprof -diff_base).
type profiler struct {
	base, out, name string
	n               int
	window          time.Duration
	wg              sync.WaitGroup
	taken           bool // the first window at n only
}

func (p *profiler) start(viewers int) {
	if viewers != p.n || p.taken {
		return
	}
	p.taken = true
	pre := filepath.Join(p.out, fmt.Sprintf("%s-%d-", p.name, viewers))
	p.get("/debug/pprof/allocs", pre+"allocs-start.pprof")
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		secs := int(p.window.Seconds())
		p.get(fmt.Sprintf("/debug/pprof/profile?seconds=%d", max(secs, 1)), pre+"cpu.pprof")
		p.get("/debug/pprof/allocs", pre+"allocs-end.pprof")
	}()
}

func (p *profiler) wait() { p.wg.Wait() }

func (p *profiler) get(path, file string) {
	c := &http.Client{Timeout: p.window + 30*time.Second}
	resp, err := c.Get(p.base + path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fanout: profile:", err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fanout: profile:", err)
		return
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		fmt.Fprintln(os.Stderr, "fanout: profile:", err)
	}
	f.Close()
	fmt.Printf("fanout: wrote %s\n", file)
}
