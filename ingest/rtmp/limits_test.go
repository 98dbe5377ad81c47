package rtmp

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/handshake"
)

// dialFrom opens a TCP connection to addr from the loopback address ip
// (Linux routes all of 127.0.0.0/8 to lo).
func dialFrom(t *testing.T, ip, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, ip, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// publishFrom runs the library's client up to an accepted publish of name,
// from the loopback address ip.
func publishFrom(t *testing.T, ip, rawURL string) (*gortmplib.Client, error) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c := &gortmplib.Client{URL: u, Publish: true, DialContext: d.DialContext}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Initialize(ctx); err != nil {
		return nil, err
	}
	t.Cleanup(c.Close)
	return c, nil
}

// closedByServer reads c until the server ends it; it fails the test when
// the connection is still open after d.
func closedByServer(t *testing.T, c net.Conn, d time.Duration, what string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: still open after %s", what, d)
	}
}

func (e *env) tracked(key string) (all, forKey int) {
	e.srv.mu.Lock()
	defer e.srv.mu.Unlock()
	return len(e.srv.conns), e.srv.perAddr[key]
}

// TestMaxConnsPerAddr: idle sockets from one address fill its share and the
// next one is refused and counted, while another address still publishes;
// a slot freed is taken again.
func TestMaxConnsPerAddr(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{MaxConnsPerAddr: 3, AuthTimeout: 30 * time.Second, HandshakeTimeout: 30 * time.Second})
	addr := e.srv.Addr().String()
	before := rejected(reasonTooManyPerAddr)
	var held []net.Conn
	for range 3 {
		held = append(held, dialFrom(t, "127.0.0.1", addr))
	}
	waitFor(t, 5*time.Second, "three connections from 127.0.0.1", func() bool {
		_, n := e.tracked("127.0.0.1")
		return n == 3
	})
	extra := dialFrom(t, "127.0.0.1", addr)
	closedByServer(t, extra, 5*time.Second, "the fourth connection from 127.0.0.1")
	if got := rejected(reasonTooManyPerAddr) - before; got != 1 {
		t.Errorf("rejected{reason=%q} grew by %v, want 1", reasonTooManyPerAddr, got)
	}

	if _, err := publishFrom(t, "127.0.0.2", e.url("live", "other", goodToken)); err != nil {
		t.Fatalf("a publisher from 127.0.0.2 was refused while 127.0.0.1 is full: %v", err)
	}

	held[0].Close()
	waitFor(t, 5*time.Second, "the closed socket's slot freed", func() bool {
		_, n := e.tracked("127.0.0.1")
		return n == 2
	})
	if _, err := publishFrom(t, "127.0.0.1", e.url("live", "again", goodToken)); err != nil {
		t.Fatalf("a publisher from 127.0.0.1 was refused after a slot was freed: %v", err)
	}
	if got := rejected(reasonTooManyPerAddr) - before; got != 1 {
		t.Errorf("rejected{reason=%q} grew by %v, want 1", reasonTooManyPerAddr, got)
	}
}

func TestAddrKey(t *testing.T) {
	cases := map[string]string{
		"192.0.2.7:1935":                  "192.0.2.7",
		"[::ffff:192.0.2.7]:1935":         "192.0.2.7",
		"[2001:db8:1:2:aaaa::1]:40000":    "2001:db8:1:2::/64",
		"[2001:db8:1:2:bbbb:cc::9]:40001": "2001:db8:1:2::/64",
		"[2001:db8:1:3::1]:40000":         "2001:db8:1:3::/64",
	}
	for in, want := range cases {
		a, err := net.ResolveTCPAddr("tcp", in)
		if err != nil {
			t.Fatal(err)
		}
		if got := addrKey(a); got != want {
			t.Errorf("addrKey(%s) = %q, want %q", in, got, want)
		}
	}
}

// TestAuthTimeout: a socket that sends nothing, and one that stops after
// the RTMP handshake, are closed once auth_timeout passes (long before the
// handshake timeout) and counted; a publisher that sends its token in time
// stays connected past it.
func TestAuthTimeout(t *testing.T) {
	t.Parallel()
	const authTimeout = time.Second
	e := newEnv(t, Config{AuthTimeout: authTimeout, HandshakeTimeout: 60 * time.Second, ReadTimeout: 60 * time.Second})
	addr := e.srv.Addr().String()
	before := rejected(reasonAuthTimeout)

	start := time.Now()
	idle := dialFrom(t, "127.0.0.1", addr)
	half := dialFrom(t, "127.0.0.1", addr)
	if _, _, err := handshake.DoClient(half, false, false); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	closedByServer(t, idle, 20*time.Second, "an idle socket")
	closedByServer(t, half, 20*time.Second, "a socket idle after the handshake")
	if el := time.Since(start); el < authTimeout {
		t.Errorf("closed after %s, before auth_timeout %s", el, authTimeout)
	}
	waitFor(t, 5*time.Second, "two auth_timeout rejections", func() bool {
		return rejected(reasonAuthTimeout)-before >= 2
	})

	c, err := publishFrom(t, "127.0.0.1", e.url("live", "intime", goodToken))
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	_ = c.NetConn().SetReadDeadline(time.Now().Add(2 * authTimeout))
	_, err = c.NetConn().Read(make([]byte, 1))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("an authorized publisher's connection ended (%v); auth_timeout must not apply after auth", err)
	}
}

// TestOversizeRefusedWhileStreaming: an authorized peer that announces a
// message over max_message_size, sets a chunk size over max_chunk_size, or
// keeps too many large messages in assembly is cut off and counted, and so
// is a peer that sends a large message before its token is checked; a
// publisher streaming meanwhile goes on.
func TestOversizeRefusedWhileStreaming(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	e := newEnv(t, Config{ReadTimeout: 60 * time.Second})
	good := startFFmpeg(t, e.url("live", "main", goodToken), pubOpts{secs: 8, video: true, audio: "aac"})
	waitFor(t, 15*time.Second, "the good publisher's packets", func() bool {
		recs := e.recorders("main")
		return len(recs) == 1 && recs[0].count() > 30
	})
	main := e.recorders("main")[0]
	before := rejected(reasonOversize)

	setChunk := func(v uint32) []byte {
		return append(rawChunk0(2, typeSetChunk, 4), binary.BigEndian.AppendUint32(nil, v)...)
	}
	var partials []byte
	partials = append(partials, setChunk(4096)...)
	for csid := byte(10); csid < 13; csid++ {
		partials = append(partials, rawChunk0(csid, 9, 8<<20)...)
		partials = append(partials, make([]byte, 4096)...)
	}
	bad := map[string][]byte{
		"message over max_message_size":  rawChunk0(10, 9, 9<<20),
		"chunk size over max_chunk_size": setChunk(2 << 20),
		"messages in assembly":           partials,
	}
	for what, payload := range bad {
		c, err := publishFrom(t, "127.0.0.1", e.url("live", "bad", goodToken))
		if err != nil {
			t.Fatalf("%s: publish: %v", what, err)
		}
		if _, err := c.NetConn().Write(payload); err != nil {
			t.Fatalf("%s: write: %v", what, err)
		}
		closedByServer(t, c.NetConn(), 20*time.Second, what)
	}

	pre := dialFrom(t, "127.0.0.1", e.srv.Addr().String())
	if _, _, err := handshake.DoClient(pre, false, false); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if _, err := pre.Write(rawChunk0(3, 20, 100<<10)); err != nil {
		t.Fatal(err)
	}
	closedByServer(t, pre, 20*time.Second, "a 100 KiB message before auth")

	waitFor(t, 5*time.Second, "four oversize rejections", func() bool {
		return rejected(reasonOversize)-before >= 4
	})
	if n := len(e.recorders("bad")); n != 0 {
		t.Errorf("%d publications of the bad peers, want none", n)
	}
	mid := main.count()
	waitFor(t, 10*time.Second, "more packets from the good publisher", func() bool { return main.count() > mid+20 })
	if out, err := good.wait(t, 30*time.Second); err != nil {
		t.Errorf("good publisher: %v\n%s", err, out)
	}
}

// TestLogSampler: one refusal line a second, carrying how many were held back.
func TestLogSampler(t *testing.T) {
	var l logSampler
	t0 := time.Unix(1000, 0)
	if ok, _ := l.allow(t0); !ok {
		t.Fatal("the first line was held back")
	}
	for i := range 5 {
		if ok, _ := l.allow(t0.Add(time.Duration(i+1) * 100 * time.Millisecond)); ok {
			t.Fatalf("line %d within the second was let through", i)
		}
	}
	ok, skipped := l.allow(t0.Add(1100 * time.Millisecond))
	if !ok || skipped != 5 {
		t.Errorf("after a second: allow = %v, skipped = %d; want true, 5", ok, skipped)
	}
}
