package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/mutstream/mutstream/internal/e2e"
)

// rungs the viewers ask for in turn: automatic control, then fixed rungs.
var rungs = []string{"", "360p", "180p"}

// viewer is one pion WHEP viewer and where it watches.
type viewer struct {
	url    string
	c      *e2e.WHEPClient // nil while not connected
	lastPk int64
}

// viewers keeps n pion WHEP viewers spread over the streams and rungs.
// Only the soak loop's goroutine uses it.
type viewers struct {
	list     []*viewer
	next     int // the oldest viewer, replaced at the next churn
	joins    int
	failures int
}

func newViewers(base string, streams []string, n int) *viewers {
	vs := &viewers{}
	for i := range n {
		u := base + "/whep/" + streams[i%len(streams)]
		if r := rungs[(i/len(streams))%len(rungs)]; r != "" {
			u += "?rung=" + r
		}
		vs.list = append(vs.list, &viewer{url: u})
	}
	return vs
}

// fill connects every viewer that is not connected, four a second (under
// any sane per-address join limit).
func (vs *viewers) fill(ctx context.Context) {
	for _, v := range vs.list {
		if v.c != nil {
			continue
		}
		if ctx.Err() != nil {
			return
		}
		vs.join(v)
		time.Sleep(250 * time.Millisecond)
	}
}

func (vs *viewers) join(v *viewer) {
	c, err := e2e.DialWHEP(v.url)
	if err != nil {
		vs.failures++
		fmt.Fprintf(os.Stderr, "soak: viewer %s: %v\n", v.url, err)
		return
	}
	vs.joins++
	v.c, v.lastPk = c, 0
}

// churnOne replaces the oldest viewer: DELETE, then a new session.
func (vs *viewers) churnOne() {
	if len(vs.list) == 0 {
		return
	}
	v := vs.list[vs.next]
	vs.next = (vs.next + 1) % len(vs.list)
	if v.c != nil {
		_, _ = v.c.Delete()
		v.c = nil
	}
	vs.join(v)
}

// playing counts the viewers that received video since the last call.
func (vs *viewers) playing() int {
	n := 0
	for _, v := range vs.list {
		if v.c == nil {
			continue
		}
		if pk := v.c.VideoPackets.Load(); pk > v.lastPk {
			n++
			v.lastPk = pk
		}
	}
	return n
}

func (vs *viewers) closeAll() {
	for _, v := range vs.list {
		if v.c != nil {
			_, _ = v.c.Delete()
			v.c = nil
		}
	}
}
