package udpbatch

import (
	"errors"
	"net"
	"os"
	"reflect"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/net/ipv4"
)

// gsoSender opens a loopback sender with GSO on, or skips the test
// where the system has no UDP GSO. Batches go out at size packets (or
// Close), never on a timer.
func gsoSender(t *testing.T, network, addr string, size int, opts ...Option) *Conn {
	t.Helper()
	return gsoSenderEvery(t, network, addr, size, time.Hour, opts...)
}

// gsoSenderEvery is gsoSender whose batches also go at interval.
func gsoSenderEvery(t *testing.T, network, addr string, size int, interval time.Duration, opts ...Option) *Conn {
	t.Helper()
	conn, err := net.ListenPacket(network, addr)
	if err != nil {
		t.Skipf("no %s socket here: %v", network, err)
	}
	c := New(conn, size, interval, opts...)
	if !c.GSO() {
		_ = c.Close()
		t.Skip("no UDP GSO on this system")
	}
	return c
}

func segs(sizes ...int) shape {
	s := shape{segs: sizes}
	if len(sizes) > 1 {
		s.gso = sizes[0]
	}
	return s
}

// A frame's full-size packets and its short tail go out as one message;
// the receiver still gets each packet as its own datagram, in order,
// byte for byte. The batch goes at size packets, however few messages.
func TestGSOCoalescesOneFlow(t *testing.T) {
	defer goleak.VerifyNone(t)
	rx := listen(t, "udp4")
	var rec recorder
	sizes := []int{1200, 1200, 1200, 1200, 700, 1000, 1000, 1000, 300}
	c := gsoSender(t, "udp4", "127.0.0.1:0", len(sizes), withWrite(rec.wrap))
	defer c.Close()
	send(t, c, rx.LocalAddr(), 0, sizes...)
	readExpect(t, rx, 0, sizes...)
	want := []shape{segs(1200, 1200, 1200, 1200, 700), segs(1000, 1000, 1000, 300)}
	checkShapes(t, c, &rec, want)
}

// A packet larger than the message's segments, one after a short tail,
// one over maxSegment and an empty one each start a message.
func TestGSOMixedSizes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sizes []int
		want  []shape
	}{
		{"larger after smaller", []int{500, 1000, 1000}, []shape{segs(500), segs(1000, 1000)}},
		{"after a tail", []int{1000, 1000, 500, 500}, []shape{segs(1000, 1000, 500), segs(500)}},
		{"over maxSegment", []int{maxSegment + 1, maxSegment + 1, maxSegment, maxSegment}, []shape{segs(maxSegment + 1), segs(maxSegment + 1), segs(maxSegment, maxSegment)}},
		{"equal after a tail", []int{800, 800, 800, 100, 100, 100}, []shape{segs(800, 800, 800, 100), segs(100, 100)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t)
			rx := listen(t, "udp4")
			var rec recorder
			c := gsoSender(t, "udp4", "127.0.0.1:0", len(tc.sizes), withWrite(rec.wrap))
			defer c.Close()
			send(t, c, rx.LocalAddr(), 10, tc.sizes...)
			readExpect(t, rx, 10, tc.sizes...)
			checkShapes(t, c, &rec, tc.want)
		})
	}
}

// An empty packet is never a segment: the kernel would lose it.
func TestGSOEmptyPacketAlone(t *testing.T) {
	defer goleak.VerifyNone(t)
	rx := listen(t, "udp4")
	var rec recorder
	c := gsoSender(t, "udp4", "127.0.0.1:0", 3, withWrite(rec.wrap))
	defer c.Close()
	_, _ = c.WriteTo(nil, rx.LocalAddr())
	_, _ = c.WriteTo(nil, rx.LocalAddr())
	send(t, c, rx.LocalAddr(), 0, 100)
	want := []shape{segs(0), segs(0), segs(100)}
	// The empty datagrams arrive too; read past them to the numbered one.
	buf := make([]byte, 2000)
	for i := 0; i < 3; i++ {
		_ = rx.SetReadDeadline(time.Now().Add(10 * time.Second))
		k, _, err := rx.ReadFrom(buf)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if wantSize := []int{0, 0, 100}[i]; k != wantSize {
			t.Fatalf("datagram %d has %d bytes, want %d", i, k, wantSize)
		}
	}
	checkShapes(t, c, &rec, want)
}

// A message never holds more than the kernel's 64 segments, nor more
// than maxGSOBytes.
func TestGSOMessageLimits(t *testing.T) {
	for _, tc := range []struct {
		name       string
		n, size    int
		wantCounts []int
	}{
		{"segments", 150, 100, []int{64, 64, 22}},
		{"bytes", 60, 1200, []int{maxGSOBytes / 1200, 60 - maxGSOBytes/1200}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t)
			rx := listen(t, "udp4")
			var rec recorder
			c := gsoSender(t, "udp4", "127.0.0.1:0", tc.n, withWrite(rec.wrap))
			defer c.Close()
			sizes := make([]int, tc.n)
			for i := range sizes {
				sizes[i] = tc.size
			}
			send(t, c, rx.LocalAddr(), 0, sizes...)
			got, err := readDatagrams(rx, tc.n)
			if err != nil {
				t.Fatal(err)
			}
			expect(t, got, 0, sizes...)
			_ = c.Close() // the flusher has recorded all it sent
			var counts []int
			for _, s := range rec.shapes() {
				counts = append(counts, len(s.segs))
			}
			if !reflect.DeepEqual(counts, tc.wantCounts) {
				t.Fatalf("messages of %v segments, want %v", counts, tc.wantCounts)
			}
		})
	}
}

// Flows written at once from several goroutines, to IPv4 and IPv6
// receivers through one dual-stack socket, each arrive whole and in
// order, and their frames were coalesced.
func TestGSOInterleavedFlows(t *testing.T) {
	defer goleak.VerifyNone(t)
	var rec recorder
	c := gsoSenderEvery(t, "udp", ":0", 32, time.Millisecond, withWrite(rec.wrap))
	defer c.Close()
	const flows, frames, window = 8, 60, 4
	var rxs []*net.UDPConn
	for f := 0; f < flows; f++ {
		network := "udp4"
		if f%4 == 3 {
			network = "udp6"
		}
		rxs = append(rxs, listen(t, network))
	}
	frameSizes := func(f, k int) []int { // 3 full packets and a tail
		return []int{1100 + f, 1100 + f, 1100 + f, 4 + (k*97+f*31)%(1097+f)}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*flows)
	for f, rx := range rxs {
		acks := make(chan struct{}, frames)
		wg.Add(2)
		go func() { // the receiver: frame by frame, in order
			defer wg.Done()
			for k := 0; k < frames; k++ {
				sizes := frameSizes(f, k)
				got, err := readDatagrams(rx, len(sizes))
				if err != nil {
					errs <- err
					return
				}
				for i, d := range got {
					if want := (datagram{uint32(k*4 + i), sizes[i]}); d != want {
						errs <- errors.New("flow " + rx.LocalAddr().String() + ": got " + fmtDatagram(d) + ", want " + fmtDatagram(want))
						return
					}
				}
				acks <- struct{}{}
			}
		}()
		go func() { // the writer: at most window frames ahead of its receiver
			defer wg.Done()
			for k := 0; k < frames; k++ {
				if k >= window {
					select {
					case <-acks:
					case <-time.After(10 * time.Second):
						errs <- errors.New("receiver stalled")
						return
					}
				}
				for i, size := range frameSizes(f, k) {
					if _, err := c.WriteTo(payload(uint32(k*4+i), size), rx.LocalAddr()); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c.Dropped() != 0 || c.Failed() != 0 {
		t.Fatalf("dropped %d, failed %d", c.Dropped(), c.Failed())
	}
	_ = c.Close() // the flusher has recorded all it sent
	coalesced := 0
	for _, s := range rec.shapes() {
		if len(s.segs) > 1 {
			coalesced++
		}
	}
	if coalesced == 0 {
		t.Fatal("no message held more than one packet")
	}
}

func fmtDatagram(d datagram) string {
	return "number " + itoa(int(d.num)) + " of " + itoa(d.size) + " bytes"
}

func itoa(n int) string { return strconv.Itoa(n) }

// eioOnGSO fails every GSO message the way a device without checksum
// offload does (EIO), sending the messages before it.
type eioOnGSO struct {
	mu      sync.Mutex
	refused int
}

func (e *eioOnGSO) wrap(real writer) writer {
	return func(ms []ipv4.Message) (int, error) {
		i := 0
		for i < len(ms) && len(ms[i].Buffers) == 1 {
			i++
		}
		if i > 0 {
			return real(ms[:i])
		}
		e.mu.Lock()
		e.refused++
		e.mu.Unlock()
		return 0, &net.OpError{Op: "write", Net: "udp", Err: os.NewSyscallError("sendmmsg", syscall.EIO)}
	}
}

// When the system refuses a GSO message, its packets still go, one by
// one; GSO is then off for good, and that is reported once.
func TestGSOFallbackOnRefusal(t *testing.T) {
	defer goleak.VerifyNone(t)
	rx := listen(t, "udp4")
	var (
		eio     eioOnGSO
		rec     recorder
		mu      sync.Mutex
		reasons []string
		causes  []error
	)
	off := make(chan struct{}, 1)
	onOff := func(reason string, err error) {
		mu.Lock()
		defer mu.Unlock()
		reasons, causes = append(reasons, reason), append(causes, err)
		select {
		case off <- struct{}{}:
		default:
		}
	}
	frame := []int{1200, 1200, 1200, 400}
	two := append(append([]int{}, frame...), frame...)
	c := gsoSender(t, "udp4", "127.0.0.1:0", len(two), withWrite(func(real writer) writer { return eio.wrap(rec.wrap(real)) }), WithOnGSOOff(onOff))
	defer c.Close()
	send(t, c, rx.LocalAddr(), 0, two...)
	readExpect(t, rx, 0, two...)
	select { // told after the refused message's packets went
	case <-off:
	case <-time.After(10 * time.Second):
		t.Fatal("not told that GSO went off")
	}
	if c.GSO() {
		t.Fatal("GSO still on after the system refused a GSO message")
	}
	// Later packets are not coalesced: none reaches the failing writer.
	send(t, c, rx.LocalAddr(), uint32(len(two)), two...)
	readExpect(t, rx, uint32(len(two)), two...)
	eio.mu.Lock()
	refused := eio.refused
	eio.mu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	if refused != 1 {
		t.Fatalf("%d GSO messages refused, want 1", refused)
	}
	if len(reasons) != 1 || reasons[0] != "refused" || !errors.Is(causes[0], syscall.EIO) {
		t.Fatalf("told %v %v, want once refused with EIO", reasons, causes)
	}
	_ = c.Close() // the flusher has recorded all it sent
	for _, s := range rec.shapes() {
		if len(s.segs) != 1 || s.gso != 0 {
			t.Fatalf("a message of %v went out after GSO was off", s)
		}
	}
	if c.Failed() != 0 || c.Dropped() != 0 {
		t.Fatalf("failed %d, dropped %d", c.Failed(), c.Dropped())
	}
}

// A GSO message to an address the socket cannot reach is refused packet
// by packet, and GSO stays on: the address was the trouble, not GSO.
func TestGSOBadAddressKeepsGSO(t *testing.T) {
	defer goleak.VerifyNone(t)
	rx := listen(t, "udp4")
	told := false
	c := gsoSender(t, "udp4", "127.0.0.1:0", 5, WithOnGSOOff(func(string, error) { told = true }))
	bad := &net.UDPAddr{IP: net.IPv6loopback, Port: 9}
	send(t, c, bad, 0, 1000, 1000, 1000, 500)
	send(t, c, rx.LocalAddr(), 0, 100)
	readExpect(t, rx, 0, 100)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if told || !c.GSO() {
		t.Fatalf("GSO turned off (told %v) by an unreachable address", told)
	}
	if c.Failed() != 4 {
		t.Fatalf("%d packets counted refused, want 4", c.Failed())
	}
}

// WithGSO(false) sends every packet as its own message.
func TestGSOOffByOption(t *testing.T) {
	defer goleak.VerifyNone(t)
	rx := listen(t, "udp4")
	var rec recorder
	told := false
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := New(conn, 4, time.Hour, WithGSO(false), withWrite(rec.wrap), WithOnGSOOff(func(string, error) { told = true }))
	defer c.Close()
	send(t, c, rx.LocalAddr(), 0, 1000, 1000, 1000, 1000)
	readExpect(t, rx, 0, 1000, 1000, 1000, 1000)
	if c.GSO() || told {
		t.Fatalf("GSO %v, told %v; want off, untold", c.GSO(), told)
	}
	_ = c.Close() // the flusher has recorded all it sent
	if s := rec.shapes(); len(s) != 4 {
		t.Fatalf("sent %v, want 4 messages of one packet", s)
	}
}

// The probe at New finds UDP_SEGMENT on a UDP socket only.
func TestGSOProbe(t *testing.T) {
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	unixgram, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: t.TempDir() + "/s", Net: "unixgram"})
	if err != nil {
		t.Skipf("no unix datagram socket: %v", err)
	}
	defer unixgram.Close()
	if gsoSupported(unixgram) {
		t.Fatal("a unix socket passed the UDP_SEGMENT probe")
	}
	if !gsoSupported(udp) {
		t.Skip("no UDP GSO on this system")
	}
}
