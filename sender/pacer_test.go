package sender

import (
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/mutstream/mutstream/stream"
)

// recordWriter keeps what a binding was asked to write.
type recordWriter struct {
	seqs    []uint16
	markers []bool
	sizes   []int
	firsts  []byte // each payload's first byte, to check the order
}

func (w *recordWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.seqs = append(w.seqs, h.SequenceNumber)
	w.markers = append(w.markers, h.Marker)
	w.sizes = append(w.sizes, len(payload))
	if len(payload) > 0 {
		w.firsts = append(w.firsts, payload[0])
	}
	return len(payload), nil
}

func (w *recordWriter) Write(b []byte) (int, error) { return len(b), nil }

// pacedOut is a video rtpOut with a pacer at rate, bound to a recorder,
// on a clock that moves only when clk is set.
func pacedOut(rate int) (*rtpOut, *recordWriter, *time.Time) {
	w := &recordWriter{}
	tr := &BoundTrack{}
	tr.b.Store(&trackBinding{w: w, ssrc: 1, pt: 96})
	o := newRTPOut(tr, cutFixed, 90000, 3000)
	o.pace = newPacer()
	o.pace.setRate(rate)
	clk := time.Unix(1000, 0)
	o.pace.now = func() time.Time { return clk }
	return o, w, &clk
}

// cutFixed cuts data into rtpMTU-byte payloads.
func cutFixed(data []byte) [][]byte {
	var out [][]byte
	for len(data) > rtpMTU {
		out = append(out, data[:rtpMTU])
		data = data[rtpMTU:]
	}
	return append(out, data)
}

// frame is an access unit of n full payloads, each starting with its index
// plus first.
func frame(n int, first byte, pts time.Duration) *stream.Packet {
	d := make([]byte, n*rtpMTU)
	for i := range n {
		d[i*rtpMTU] = first + byte(i)
	}
	return &stream.Packet{Data: d, PTS: pts, Keyframe: true}
}

func TestPacerSpreadsKeyframe(t *testing.T) {
	const rate = 2_000_000 // 250 kB/s: 60 packets of 1200 B take 288 ms
	o, w, clk := pacedOut(rate)
	start := *clk
	n, err := o.write(frame(60, 0, 0), true)
	if err != nil || n != 60 {
		t.Fatalf("write = %d, %v; want 60 counted", n, err)
	}
	if len(w.seqs) != paceBurst {
		t.Fatalf("%d packets went out at once, want the burst of %d", len(w.seqs), paceBurst)
	}
	// A small frame behind the keyframe waits its turn.
	if _, err := o.write(frame(1, 100, 33*time.Millisecond), true); err != nil {
		t.Fatal(err)
	}
	if len(w.seqs) != paceBurst || o.backlog() != 41 {
		t.Fatalf("the next frame overtook the keyframe: %d sent, %d waiting", len(w.seqs), o.backlog())
	}
	// Flushed every 20 ms, as the loop does: never ahead of the rate.
	var at time.Time
	for i := 1; o.backlog() > 0; i++ {
		if i > 40 {
			t.Fatalf("still %d waiting after %d flushes", o.backlog(), i)
		}
		at = start.Add(time.Duration(i) * padInterval)
		if err := o.flush(at); err != nil {
			t.Fatal(err)
		}
		allowed := paceBurst + int(float64(rate)/8*at.Sub(start).Seconds()/rtpMTU) + 2
		if len(w.seqs) > allowed {
			t.Fatalf("%d packets sent %s after the keyframe; the rate allows %d", len(w.seqs), at.Sub(start), allowed)
		}
	}
	// 41 packets at 250 kB/s: about 200 ms.
	if took := at.Sub(start); took < 160*time.Millisecond || took > 260*time.Millisecond {
		t.Errorf("the backlog took %s to drain, want about 200 ms", took)
	}
	for i := range w.seqs {
		if i > 0 && w.seqs[i] != w.seqs[i-1]+1 {
			t.Fatalf("sequence numbers not consecutive at %d: %d then %d", i, w.seqs[i-1], w.seqs[i])
		}
		want := byte(i)
		if i == 60 {
			want = 100
		}
		if w.firsts[i] != want {
			t.Fatalf("packet %d carries payload %d, want %d: order changed", i, w.firsts[i], want)
		}
		if w.markers[i] != (i == 59 || i == 60) {
			t.Fatalf("packet %d marker %v", i, w.markers[i])
		}
	}
}

func TestPacerLetsSmallFramesPass(t *testing.T) {
	o, w, clk := pacedOut(4_000_000)
	for i := range 30 {
		// 30 fps of 3 packets: 864 kb/s.
		*clk = clk.Add(33 * time.Millisecond)
		if _, err := o.write(frame(3, 0, time.Duration(i)*33*time.Millisecond), true); err != nil {
			t.Fatal(err)
		}
		if o.backlog() != 0 {
			t.Fatalf("frame %d waits: small frames under the rate must pass", i)
		}
	}
	if len(w.seqs) != 90 || o.backlog() != 0 {
		t.Fatalf("%d sent, %d waiting; small frames under the rate must pass", len(w.seqs), o.backlog())
	}
}

func TestPacerBacklogBounded(t *testing.T) {
	o, w, clk := pacedOut(8_000) // far too low: 1 kB/s
	if _, err := o.write(frame(60, 0, 0), true); err != nil {
		t.Fatal(err)
	}
	start := *clk
	_ = o.flush(start.Add(paceMaxWait / 2))
	if o.backlog() == 0 {
		t.Fatal("the backlog went out before paceMaxWait at 8 kb/s")
	}
	_ = o.flush(start.Add(paceMaxWait + padInterval))
	if o.backlog() != 0 || len(w.seqs) != 60 {
		t.Fatalf("after paceMaxWait %d sent, %d waiting; want all 60 sent", len(w.seqs), o.backlog())
	}
}

func TestPacerOffAndDrop(t *testing.T) {
	o, w, clk := pacedOut(0)
	if _, err := o.write(frame(60, 0, 0), true); err != nil {
		t.Fatal(err)
	}
	if len(w.seqs) != 60 {
		t.Fatalf("with no rate %d of 60 went out at once", len(w.seqs))
	}
	o.pace.setRate(1_000_000)
	if _, err := o.write(frame(60, 0, 33*time.Millisecond), true); err != nil {
		t.Fatal(err)
	}
	if o.backlog() == 0 {
		t.Fatal("nothing waits at 1 Mb/s after two keyframes")
	}
	sent := len(w.seqs)
	if n := o.pace.drop(); n == 0 || o.backlog() != 0 {
		t.Fatalf("drop: %d dropped, %d waiting", n, o.backlog())
	}
	_ = o.flush(clk.Add(time.Second))
	if len(w.seqs) != sent {
		t.Fatalf("dropped packets went out: %d then %d", sent, len(w.seqs))
	}
	// Sequence numbers stay continuous over the dropped packets: they
	// were never numbered.
	if _, err := o.write(frame(1, 0, 66*time.Millisecond), true); err != nil {
		t.Fatal(err)
	}
	*clk = clk.Add(2 * time.Second)
	_ = o.flush(*clk)
	if len(w.seqs) != sent+1 {
		t.Fatalf("the frame after a drop: %d sent, want %d", len(w.seqs), sent+1)
	}
	if got := w.seqs[len(w.seqs)-1]; got != w.seqs[sent-1]+1 {
		t.Fatalf("after a drop seq %d follows %d", got, w.seqs[sent-1])
	}
}
