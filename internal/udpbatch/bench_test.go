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
)

// BenchmarkWriteTo sends rounds of 4 packets of 1220 bytes (a 640x360
// 1 Mb/s video frame in SRTP) to each of 200 loopback receivers, with
// and without GSO, and waits for each round to be sent. One op is one
// packet. Besides ns/op and allocs/op it reports the CPU the flushing
// goroutine's thread spent per packet (flusher-ns/pkt: sendmmsg and, on
// loopback, the kernel's delivery) and the whole process's
// (cpu-ns/pkt). The receivers never read: once full, the kernel drops
// at their sockets, after the same work up to there.
func BenchmarkWriteTo(b *testing.B) {
	for _, gso := range []bool{false, true} {
		name := "sendmmsg"
		if gso {
			name = "gso"
		}
		b.Run(name, func(b *testing.B) { benchWriteTo(b, gso) })
	}
}

func benchWriteTo(b *testing.B, gso bool) {
	const receivers, perFrame, size = 200, 4, 1220
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
	if gso && !c.GSO() {
		b.Skip("no UDP GSO on this system")
	}
	<-started
	pkt := payload(1, size)
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
				for k := 0; k < perFrame && i < n; k++ {
					if _, err := c.WriteTo(pkt, addrs[r]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			}
			written += uint64(i - first)
			wait(written)
		}
	}
	rounds(2 * receivers * perFrame) // the batches and buffers a round needs
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
