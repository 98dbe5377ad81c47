package server

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mutstream/mutstream/config"
	"github.com/mutstream/mutstream/stream"
)

// readUntilClosed reads c until the server closes it and returns what came;
// it fails when the connection is still open after limit (far longer than
// any timeout under test).
func readUntilClosed(t *testing.T, c net.Conn, limit time.Duration) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(limit))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %s; read %q", limit, b)
	}
	return string(b)
}

// TestTrickledBodyIsCutOff: a client that sends its body a byte at a time,
// forever, is cut off once the read timeout passes.
func TestTrickledBodyIsCutOff(t *testing.T) {
	srv := startWith(t, func(c *config.Config) { c.HTTP.ReadTimeout = 500 * time.Millisecond })
	c, err := net.Dial("tcp", srv.HTTPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "POST /whep/cam HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nContent-Length: 100000\r\n\r\nv"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := c.Write([]byte("=")); err != nil {
					return
				}
			}
		}
	}()
	got := readUntilClosed(t, c, time.Minute)
	if got != "" && !strings.HasPrefix(got, "HTTP/1.1 4") {
		t.Fatalf("answer to a trickled body: %q", got)
	}
}

// TestSlowHeadersAreCutOff: headers that never end are cut off after the
// header timeout.
func TestSlowHeadersAreCutOff(t *testing.T) {
	srv := startWith(t, func(c *config.Config) { c.HTTP.ReadHeaderTimeout = 300 * time.Millisecond })
	c, err := net.Dial("tcp", srv.HTTPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	readUntilClosed(t, c, time.Minute)
}

// TestConnectionCap: with max_conns open, one more connection is closed at
// once and counted; when one leaves there is room again.
func TestConnectionCap(t *testing.T) {
	srv := startWith(t, func(c *config.Config) { c.HTTP.MaxConns = 2 })
	before := testutil.ToFloat64(httpConnsRefused.WithLabelValues("max_conns"))
	var held []net.Conn
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", srv.HTTPAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// A keep-alive request: the connection is served and stays open.
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d on a held connection: %v %v", i, resp, err)
		}
		resp.Body.Close()
		held = append(held, c)
	}
	extra, err := net.Dial("tcp", srv.HTTPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	_, _ = io.WriteString(extra, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	if got := readUntilClosed(t, extra, time.Minute); got != "" {
		t.Fatalf("the connection over the cap was answered: %q", got)
	}
	if got := testutil.ToFloat64(httpConnsRefused.WithLabelValues("max_conns")) - before; got != 1 {
		t.Fatalf("refusals counted %v, want 1", got)
	}
	held[0].Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Get(srv.url("/healthz"))
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no room after a held connection closed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBodyCap: a body over max_body_bytes is refused with 413.
func TestBodyCap(t *testing.T) {
	srv := startWith(t, func(c *config.Config) { c.HTTP.MaxBodyBytes = 4096 })
	resp, err := http.Post(srv.url("/whep/cam"), "application/sdp", strings.NewReader(strings.Repeat("a", 5000)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
}

// TestEventsOutliveTimeouts: server-sent events go on far past the read
// and write timeouts, which still bound every other request.
func TestEventsOutliveTimeouts(t *testing.T) {
	const timeout = 300 * time.Millisecond
	srv := startWith(t, func(c *config.Config) {
		c.HTTP.ReadTimeout, c.HTTP.WriteTimeout = timeout, timeout
	})
	if _, err := srv.Hub().Publish("cam", "test", []stream.Track{{Kind: stream.KindVideo, Codec: stream.CodecH264}}, nil); err != nil {
		t.Fatal(err)
	}
	st, err := srv.Hub().Lookup("cam")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(srv.url("/api/v1/streams/cam/events"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	start := time.Now()
	for i := 0; time.Since(start) < 6*timeout; i++ {
		ev := `{"type":"tick","n":` + strings.Repeat("1", i%5+1) + `}`
		st.EmitEvent([]byte(ev))
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("event stream cut after %s: %v", time.Since(start), err)
			}
			if strings.HasPrefix(line, "data: ") {
				if strings.TrimSpace(strings.TrimPrefix(line, "data: ")) != ev {
					t.Fatalf("event %q, want %q", line, ev)
				}
				break
			}
		}
		time.Sleep(timeout / 3) // the client's pace, not an assertion
	}
}
