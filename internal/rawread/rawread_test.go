package rawread

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// pair is a loopback TCP connection: the wrapped server side and the
// client side.
func pair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c := Conn(server)
	t.Cleanup(func() { _ = c.Close(); _ = client.Close() })
	return c, client
}

func TestWrapsTCPOnLinux(t *testing.T) {
	c, _ := pair(t)
	_, raw := c.(*conn)
	if raw != (runtime.GOOS == "linux") {
		t.Fatalf("%T on %s", c, runtime.GOOS)
	}
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	if Conn(p1) != p1 {
		t.Fatal("a connection with no socket was wrapped")
	}
}

// Reads return what the peer wrote, in order, then io.EOF at its end;
// a read waits in the poller for data that is not there yet.
func TestReadsThenEOF(t *testing.T) {
	defer goleak.VerifyNone(t)
	c, client := pair(t)
	want := make([]byte, 1<<20)
	for i := range want {
		want[i] = byte(i * 7)
	}
	go func() {
		for off := 0; off < len(want); off += 4096 {
			_, _ = client.Write(want[off : off+4096])
		}
		_ = client.Close()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d bytes, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("byte %d is %d, want %d", i, got[i], want[i])
		}
	}
	if n, err := c.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Fatalf("after the end: %d, %v", n, err)
	}
}

// A read deadline ends a waiting read with os.ErrDeadlineExceeded, a
// timeout, and the connection still reads afterwards.
func TestReadDeadline(t *testing.T) {
	c, client := pair(t)
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := c.Read(make([]byte, 10))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past its deadline: %v", err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "read" {
		t.Fatalf("error %#v, want a read *net.OpError", err)
	}
	_ = c.SetReadDeadline(time.Time{})
	_, _ = client.Write([]byte("x"))
	b := make([]byte, 10)
	if n, err := c.Read(b); n != 1 || err != nil || b[0] != 'x' {
		t.Fatalf("read after the deadline: %d %v", n, err)
	}
}

// Close ends a read waiting on another goroutine with net.ErrClosed.
func TestCloseEndsRead(t *testing.T) {
	defer goleak.VerifyNone(t)
	c, _ := pair(t)
	done := make(chan error)
	go func() {
		_, err := c.Read(make([]byte, 10))
		done <- err
	}()
	_ = c.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read on a closed connection: %v", err)
	}
}
