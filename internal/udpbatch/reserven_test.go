package udpbatch

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// reserveN writes packets first, first+1, ... of sizes to addr through
// one ReserveN and one CommitN, with s as the Slots.
func reserveN(c *Conn, s *Slots, addr net.Addr, first uint32, sizes ...int) error {
	if err := c.ReserveN(s, addr, sizes); err != nil {
		return err
	}
	if len(s.B) != len(sizes) {
		return fmt.Errorf("%d slots for %d packets", len(s.B), len(sizes))
	}
	for i, b := range s.B {
		if len(b) != sizes[i] {
			return fmt.Errorf("slot %d of %d bytes, want %d", i, len(b), sizes[i])
		}
		copy(b, payload(first+uint32(i), sizes[i]))
	}
	c.CommitN(s)
	return nil
}

// Packets written through ReserveN (runs that cross batches), Reserve
// and WriteTo, interleaved, go out in the order they were written, each
// byte for byte, with GSO on or off.
func TestReserveNKeepsOrder(t *testing.T) {
	for _, gso := range []bool{false, true} {
		t.Run(fmt.Sprintf("gso=%v", gso), func(t *testing.T) {
			defer goleak.VerifyNone(t)
			rx := listen(t, "udp4")
			conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			c := New(conn, 8, 0, WithGSO(gso))
			defer c.Close()
			var s Slots
			const rounds, per = 4, 120
			for r := uint32(0); r < rounds; r++ {
				var sizes []int
				for i := r * per; i < (r+1)*per; {
					switch i % 4 {
					case 0:
						size := 100 + int(i*37%1300)
						sizes = append(sizes, size)
						send(t, c, rx.LocalAddr(), i, size)
						i++
					case 1:
						size := 100 + int(i*37%1300)
						sizes = append(sizes, size)
						reserve(t, c, rx.LocalAddr(), i, size)
						i++
					default: // a unit of 1 to 11 packets, crossing batches
						n := min(1+int(i*5%11), int((r+1)*per-i))
						unit := make([]int, n)
						for k := range unit {
							unit[k] = 1200
						}
						unit[n-1] = 100 + int(i*13%1100)
						sizes = append(sizes, unit...)
						if err := reserveN(c, &s, rx.LocalAddr(), i, unit...); err != nil {
							t.Fatal(err)
						}
						i += uint32(n)
					}
				}
				readExpect(t, rx, r*per, sizes...)
			}
		})
	}
}

// Writers of their own flows, each through ReserveN and CommitN at once
// on one Conn, each get all their packets, in order.
func TestReserveNConcurrentWriters(t *testing.T) {
	defer goleak.VerifyNone(t)
	const writers, units, per = 4, 60, 5
	rxs := make([]*net.UDPConn, writers)
	for w := range rxs {
		rxs[w] = listen(t, "udp4")
	}
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := New(conn, 16, 0)
	defer c.Close()
	errs := make(chan error, 2*writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(2)
		go func() { // the writer
			defer wg.Done()
			var s Slots
			sizes := []int{1200, 1200, 1200, 1200, 300}
			for u := range units {
				if err := reserveN(c, &s, rxs[w].LocalAddr(), uint32(u*per), sizes...); err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() { // its receiver
			defer wg.Done()
			got, err := readDatagrams(rxs[w], units*per)
			if err != nil {
				errs <- fmt.Errorf("flow %d: %w", w, err)
				return
			}
			for i, d := range got {
				if d.num != uint32(i) {
					errs <- fmt.Errorf("flow %d: datagram %d is packet %d", w, i, d.num)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// A unit's packets to one destination are coalesced into GSO messages as
// those written one by one are, across the batches they fill.
func TestReserveNGSOCoalesces(t *testing.T) {
	defer goleak.VerifyNone(t)
	rx := listen(t, "udp4")
	var rec recorder
	c := gsoSender(t, "udp4", "127.0.0.1:0", 4, withWrite(rec.wrap))
	defer c.Close()
	var s Slots
	sizes := []int{1200, 1200, 1200, 1200, 1200, 700, 1000, 1000}
	if err := reserveN(c, &s, rx.LocalAddr(), 0, sizes[:6]...); err != nil {
		t.Fatal(err)
	}
	send(t, c, rx.LocalAddr(), 6, 1000, 1000) // fills the second batch
	readExpect(t, rx, 0, sizes...)
	checkShapes(t, c, &rec, []shape{segs(1200, 1200, 1200, 1200), segs(1200, 700), segs(1000, 1000)})
}

// ReserveN takes nothing when a packet is too large or the Conn is
// closed; Close sends a unit reserved before it once the unit is
// committed, and returns only then.
func TestReserveNCloseAndErrors(t *testing.T) {
	defer goleak.VerifyNone(t)
	rx := listen(t, "udp4")
	c, waiting := waitingConn(t, 4)
	var s Slots
	if err := c.ReserveN(&s, rx.LocalAddr(), []int{100, MaxPacket + 1}); !errors.Is(err, ErrTooLarge) || len(s.B) != 0 {
		t.Fatalf("ReserveN over MaxPacket: %v and %d slots, want %v and none", err, len(s.B), ErrTooLarge)
	}
	sizes := []int{300, 300, 300, 300, 300, 200}
	if err := c.ReserveN(&s, rx.LocalAddr(), sizes); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	waitFor(t, waiting, "Close waiting for the unit")
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) before the unit was committed", err)
	default:
	}
	for i, b := range s.B {
		copy(b, payload(uint32(i), sizes[i]))
	}
	c.CommitN(&s)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	readExpect(t, rx, 0, sizes...)
	if err := c.ReserveN(&s, rx.LocalAddr(), []int{100}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("ReserveN after Close: %v, want %v", err, net.ErrClosed)
	}
}

// A unit whose batch is dropped (the queue full) while it is written
// leaves that batch unused until it is committed, and CommitN frees it.
func TestReserveNDroppedBatchNotReused(t *testing.T) {
	defer goleak.VerifyNone(t)
	rx := listen(t, "udp4")
	c, waiting := waitingConn(t, 2)
	defer c.Close()
	first := queueBehindSlot(t, c, waiting, rx)
	var s Slots
	if err := c.ReserveN(&s, rx.LocalAddr(), []int{200, 200, 200}); err != nil {
		t.Fatal(err)
	}
	mine := payload(1000, 200)
	for _, b := range s.B {
		copy(b, mine)
	}
	send(t, c, rx.LocalAddr(), 3000, 200, 200, 200) // new batches, none in s
	for i, b := range s.B {
		if string(b) != string(mine) {
			t.Fatalf("slot %d: a later packet was written into a slot still being written", i)
		}
	}
	c.CommitN(&s)
	releaseQueued(t, c, rx, first)
}
