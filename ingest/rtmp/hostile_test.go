package rtmp

import (
	"context"
	"crypto/rand"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRefusalsWhileStreaming runs every kind of bad peer against the server
// while a good publisher streams, and checks each is refused and counted
// under its reason and the good one keeps delivering.
func TestRefusalsWhileStreaming(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	e := newEnv(t, Config{HandshakeTimeout: 2 * time.Second})
	good := startFFmpeg(t, e.url("live", "main", goodToken), pubOpts{secs: 11, video: true, audio: "aac"})
	waitFor(t, 15*time.Second, "the good publisher's packets", func() bool {
		recs := e.recorders("main")
		return len(recs) == 1 && recs[0].count() > 30
	})
	main := e.recorders("main")[0]

	reasons := []string{reasonUnauthorized, reasonBadURL, reasonUnsupportedCodec, reasonNoVideo,
		reasonHandshake, reasonOversize, reasonPlayRefused, reasonAuthTimeout}
	before := map[string]float64{}
	for _, r := range reasons {
		before[r] = rejected(r)
	}
	startCount := main.count()

	var wg sync.WaitGroup
	refused := func(name, url string, o pubOpts) {
		p := startFFmpeg(t, url, o)
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-p.done:
				if p.err == nil {
					t.Errorf("%s: ffmpeg succeeded, want refusal\n%s", name, p.out)
				} else {
					t.Logf("%s: ffmpeg refused: %s", name, strings.TrimSpace(p.out.String()))
				}
			case <-time.After(20 * time.Second):
				t.Errorf("%s: ffmpeg still running after 20s", name)
			}
		}()
	}
	refused("bad token", e.url("live", "main", "wrong"), pubOpts{secs: 5, video: true, audio: "aac"})
	refused("no token", e.url("live", "main", ""), pubOpts{secs: 5, video: true})
	refused("unknown app", e.url("other", "cam", goodToken), pubOpts{secs: 5, video: true})
	refused("bad name", e.url("live", "bad.name", goodToken), pubOpts{secs: 5, video: true})
	refused("long name", e.url("live", strings.Repeat("a", 65), goodToken), pubOpts{secs: 5, video: true})
	refused("mp3", e.url("live", "mp3", goodToken), pubOpts{secs: 6, video: true, audio: "mp3"})
	refused("no video", e.url("live", "novideo", goodToken), pubOpts{secs: 6, audio: "aac"})

	// A player is refused too.
	wg.Add(1)
	go func() {
		defer wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
			"-i", e.url("live", "main", goodToken), "-t", "1", "-f", "null", "-").CombinedOutput()
		if err == nil || ctx.Err() != nil {
			t.Errorf("play: err %v (ctx %v), want a refusal\n%s", err, ctx.Err(), out)
		}
	}()

	// Raw TCP peers: garbage, a handshake cut short, one that stalls.
	raw := func(name string, payload []byte, hold bool) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", e.srv.Addr().String())
			if err != nil {
				t.Errorf("%s: dial: %v", name, err)
				return
			}
			defer c.Close()
			if _, err := c.Write(payload); err != nil {
				t.Errorf("%s: write: %v", name, err)
				return
			}
			if !hold {
				if tc, ok := c.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
				}
			}
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			// EOF or a reset: either way the server ended it.
			if _, err := io.Copy(io.Discard, c); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Errorf("%s: the server did not end the connection: %v", name, err)
				}
			}
		}()
	}
	garbage := make([]byte, 4096)
	_, _ = rand.Read(garbage)
	garbage[0] = 0x42
	raw("garbage", garbage, false)
	raw("garbage after version", append([]byte{0x03}, garbage...), false)
	raw("truncated handshake", append([]byte{0x03}, garbage[:700]...), false)
	raw("stalled handshake", append([]byte{0x03}, garbage[:700]...), true)

	wg.Wait()

	want := map[string]float64{
		reasonUnauthorized:     2,
		reasonBadURL:           3,
		reasonUnsupportedCodec: 1,
		reasonNoVideo:          1,
		// The three garbage cases: random bytes end in the handshake, or
		// in the chunk guard when they happen to parse as a huge message.
		reasonHandshake + "|" + reasonOversize: 3,
		reasonAuthTimeout:                      1, // the stalled handshake
		reasonPlayRefused:                      1,
	}
	// A client sees its connection end a moment before the server counts
	// the refusal: wait for the counts (10 s at most on a busy machine).
	grew := func(reasons string) (n float64) {
		for _, r := range strings.Split(reasons, "|") {
			n += rejected(r) - before[r]
		}
		return n
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		short := false
		for r, n := range want {
			short = short || grew(r) < n
		}
		if !short || time.Now().After(deadline) {
			break
		}
	}
	for r, n := range want {
		if got := grew(r); got < n {
			t.Errorf("rejected{reason=%q} grew by %v, want >= %v", r, got, n)
		}
	}
	for _, name := range []string{"mp3", "novideo", "cam"} {
		if n := len(e.recorders(name)); n != 0 {
			t.Errorf("%d publications of %q, want none", n, name)
		}
	}
	if n := len(e.recorders("main")); n != 1 {
		t.Errorf("%d publications of main, want 1 (a refused publisher must not take over)", n)
	}
	select {
	case <-main.pub.Done():
		t.Fatalf("the good publication ended during the refusals")
	default:
	}
	mid := main.count()
	waitFor(t, 5*time.Second, "more packets from the good publisher", func() bool { return main.count() > mid+20 })
	if mid <= startCount {
		t.Errorf("the good publisher delivered nothing during the refusals (%d -> %d)", startCount, mid)
	}
	if out, err := good.wait(t, 20*time.Second); err != nil {
		t.Errorf("good publisher: %v\n%s", err, out)
	}
}

// TestMaxConns refuses connections over the limit and counts them.
func TestMaxConns(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{MaxConns: 2, HandshakeTimeout: 5 * time.Second})
	before := rejected(reasonTooManyConns)
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range 2 {
		c, err := net.Dial("tcp", e.srv.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	waitFor(t, 2*time.Second, "two tracked connections", func() bool {
		e.srv.mu.Lock()
		defer e.srv.mu.Unlock()
		return len(e.srv.conns) == 2
	})
	c, err := net.Dial("tcp", e.srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("third connection: read err %v, want EOF", err)
	}
	if got := rejected(reasonTooManyConns) - before; got < 1 {
		t.Errorf("too_many_conns grew by %v", got)
	}
}
