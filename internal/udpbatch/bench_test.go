package udpbatch

import (
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
)

// BenchmarkWriteTo sends rounds of one video frame to each of 192
// loopback receivers, with and without GSO, and waits for each round to
// be sent. One op is one packet. "equal" frames are 4 packets of 1220
// bytes; "mediad" frames are what mediad sent for a 640x360 1 Mb/s
// ffmpeg test pattern (cmd/fanout), 392, 3 x 1236 and 169 bytes, which
// GSO can only send as two messages. Besides ns/op and allocs/op it
// reports the CPU the flushing goroutine's thread spent per packet
// (flusher-ns/pkt: near 0 now that the writer that fills a batch sends
// it, the flusher only waiting for a full socket) and the whole
// process's (cpu-ns/pkt: sendmmsg and, on loopback, the kernel's
// delivery included). The receivers never read: once
// full, the kernel drops at their sockets, after the same work up to
// there.
func BenchmarkWriteTo(b *testing.B) {
	frames := []struct {
		name  string
		sizes []int
	}{
		{"equal", []int{1220, 1220, 1220, 1220}},
		{"mediad", []int{392, 1236, 1236, 1236, 169}},
	}
	for _, f := range frames {
		for _, gso := range []bool{false, true} {
			for _, xnet := range []bool{false, true} {
				name := "sendmmsg"
				if gso {
					name = "gso"
				}
				if xnet { // x/net's WriteBatch, as before the raw call
					name += "-xnet"
				}
				b.Run(f.name+"/"+name, func(b *testing.B) { benchWriteTo(b, gso, xnet, f.sizes) })
			}
		}
	}
}

func benchWriteTo(b *testing.B, gso, xnet bool, frame []int) {
	// 192 receivers: a round of 4 or 5 packets each fills whole batches
	// of 32, so no round ends waiting for the batch interval.
	const receivers = 192
	addrs := make([]net.Addr, receivers)
	for i := range addrs {
		rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		defer rx.Close()
		addrs[i] = rx.LocalAddr()
	}
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var tid int
	started := make(chan struct{})
	drained := make(chan struct{}, 1)
	hooks := func(c *Conn) {
		c.hooks.start = func() {
			runtime.LockOSThread() // ends with the flusher
			tid = syscall.Gettid()
			close(started)
		}
		c.hooks.drained = func() {
			select {
			case drained <- struct{}{}:
			default:
			}
		}
	}
	c := New(conn, 32, time.Millisecond, WithGSO(gso), hooks)
	defer c.Close()
	if xnet {
		c.raw, c.write = nil, func(ms []ipv4.Message) (int, error) { return c.bc.WriteBatch(ms, 0) }
	}
	if gso && !c.GSO() {
		b.Skip("no UDP GSO on this system")
	}
	<-started
	pkts := make([][]byte, len(frame))
	for i, size := range frame {
		pkts[i] = payload(uint32(i), size)
	}
	stall := time.NewTimer(time.Hour)
	defer stall.Stop()
	wait := func(written uint64) {
		stall.Reset(10 * time.Second)
		for c.flushed.Load()+c.Dropped() < written {
			select {
			case <-drained:
			case <-stall.C:
				b.Fatalf("flushed %d of %d packets", c.flushed.Load(), written)
			}
		}
	}
	written := uint64(0)
	rounds := func(n int) {
		for i := 0; i < n; {
			first := i
			for r := 0; r < receivers && i < n; r++ {
				for k := 0; k < len(pkts) && i < n; k++ {
					if _, err := c.WriteTo(pkts[k], addrs[r]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			}
			written += uint64(i - first)
			wait(written)
		}
	}
	rounds(2 * receivers * len(frame)) // the batches and buffers a round needs
	b.ReportAllocs()
	b.ResetTimer()
	thread0, proc0 := threadCPU(tid), processCPU()
	rounds(b.N)
	thread1, proc1 := threadCPU(tid), processCPU()
	b.StopTimer()
	if thread0 >= 0 && thread1 >= 0 {
		b.ReportMetric(float64(thread1-thread0)/float64(b.N), "flusher-ns/pkt")
	}
	b.ReportMetric(float64(proc1-proc0)/float64(b.N), "cpu-ns/pkt")
	if c.Dropped() != 0 || c.Failed() != 0 {
		b.Fatalf("dropped %d, failed %d", c.Dropped(), c.Failed())
	}
}

// threadCPU returns the nanoseconds thread tid of this process has run
// (its schedstat), or -1 where the system does not say.
func threadCPU(tid int) int64 {
	b, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/schedstat")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	ns, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return -1
	}
	return ns
}

// processCPU returns the CPU time this process has used, user and system.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
