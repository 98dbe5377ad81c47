package connlimit

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// serve accepts on l and holds each connection open until the client closes
// it, counting the accepted ones.
func serve(t *testing.T, l *Listener) (accepted chan net.Conn) {
	t.Helper()
	accepted = make(chan net.Conn, 16)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(io.Discard, c)
				_ = c.Close()
			}()
		}
	}()
	t.Cleanup(func() { _ = l.Close(); wg.Wait() })
	return accepted
}

// refusedConn reports whether the server closed c without a word: a read
// sees EOF (or a reset) rather than waiting.
func refusedConn(t *testing.T, c net.Conn) bool {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return err != nil
}

// waitReasons returns a copy of *reasons once it holds n entries, or what
// it holds after 10 s.
func waitReasons(mu *sync.Mutex, reasons *[]string, n int) []string {
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		got := append([]string(nil), (*reasons)...)
		mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestListenerCapsConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var reasons []string
	l := New(ln, 3, 0, func(r string) { mu.Lock(); reasons = append(reasons, r); mu.Unlock() })
	accepted := serve(t, l)
	var clients []net.Conn
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients = append(clients, c)
		<-accepted
	}
	extra, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	if !refusedConn(t, extra) {
		t.Fatal("the 4th connection was not closed at once")
	}
	// The refusal is counted after the connection is closed: wait for it
	// (never fail while holding mu, which the accept loop needs).
	got := waitReasons(&mu, &reasons, 1)
	if len(got) != 1 || got[0] != ReasonMax {
		t.Fatalf("refusals %v, want [%s]", got, ReasonMax)
	}
	// One leaves: there is room again.
	_ = clients[0].Close()
	for l.Open() > 2 {
		time.Sleep(5 * time.Millisecond)
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	<-accepted
	if l.Open() != 3 {
		t.Fatalf("open %d, want 3", l.Open())
	}
}

func TestListenerCapsPerAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := make(chan string, 4)
	l := New(ln, 0, 2, func(r string) { refused <- r })
	accepted := serve(t, l)
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		<-accepted
	}
	extra, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	if !refusedConn(t, extra) {
		t.Fatal("the 3rd connection from one address was not closed")
	}
	if r := <-refused; r != ReasonPerAddr {
		t.Fatalf("reason %q, want %q", r, ReasonPerAddr)
	}
}

func TestAddrKey(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 1}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 1}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:aaaa::1"), Port: 1}, "2001:db8:1:2::/64"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:bbbb::9"), Port: 2}, "2001:db8:1:2::/64"},
	} {
		if got := AddrKey(tc.addr); got != tc.want {
			t.Errorf("AddrKey(%v) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}
