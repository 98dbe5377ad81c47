package sender

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/stream"
)

// vp8Frame is n bytes standing for one VP8 frame.
func vp8Frame(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// depacketize parses one payload with pion's VP8 depacketizer.
func depacketize(t *testing.T, pl []byte) (codecs.VP8Packet, []byte) {
	t.Helper()
	var p codecs.VP8Packet
	data, err := p.Unmarshal(pl)
	if err != nil {
		t.Fatalf("pion cannot read payload % x...: %v", pl[:min(len(pl), 8)], err)
	}
	return p, data
}

// TestCutVP8AgainstPion: the payloads cutVP8 makes fit the MTU, parse
// with pion's VP8 depacketizer as RFC 7741 payloads with a 15-bit picture
// ID, TL0PICIDX and TID 0, only the first starts the frame, and they put
// the frame back together exactly.
func TestCutVP8AgainstPion(t *testing.T) {
	for _, n := range []int{1, 100, rtpMTU - vp8DescSize, rtpMTU - vp8DescSize + 1, 5000, 60_000} {
		frame := vp8Frame(n, uint64(n))
		pls := cutVP8(frame)
		want := (n + rtpMTU - vp8DescSize - 1) / (rtpMTU - vp8DescSize)
		if len(pls) != want {
			t.Fatalf("%d bytes: %d payloads, want %d", n, len(pls), want)
		}
		var got []byte
		for i, pl := range pls {
			if len(pl) > rtpMTU {
				t.Fatalf("%d bytes: payload %d is %d bytes, over %d", n, i, len(pl), rtpMTU)
			}
			p, data := depacketize(t, pl)
			if p.X != 1 || p.I != 1 || p.L != 1 || p.T != 1 || p.K != 0 || p.TID != 0 || p.PID != 0 {
				t.Fatalf("%d bytes, payload %d: descriptor %+v", n, i, p)
			}
			if pl[2]&0x80 == 0 {
				t.Fatalf("%d bytes, payload %d: picture ID not 15 bits", n, i)
			}
			if start := p.IsPartitionHead(pl); start != (i == 0) {
				t.Fatalf("%d bytes, payload %d: partition head %v", n, i, start)
			}
			got = append(got, data...)
		}
		if !bytes.Equal(got, frame) {
			t.Fatalf("%d bytes: frame not put back together", n)
		}
		if ok, first := vp8Layout(pls[0]); !ok || !first {
			t.Fatalf("%d bytes: first payload not recognised as a frame start", n)
		}
	}
	if pls := cutVP8(nil); len(pls) != 0 {
		t.Fatalf("an empty frame cut into %d payloads", len(pls))
	}
	// The picture fields a viewer's send path writes, read back by pion,
	// the shared payload left as it was.
	pl := cutVP8(vp8Frame(300, 9))[0]
	orig := append([]byte(nil), pl...)
	var buf vp8Buf
	out := buf.withPicture(pl, 0x7ffe, 0xfe)
	p, _ := depacketize(t, out)
	if again := buf.withPicture(pl, 1, 1); &again[0] == &out[0] {
		t.Fatal("a busy buffer was handed out twice")
	}
	buf.release(out)
	if again := buf.withPicture(pl, 1, 1); &again[0] != &out[0] {
		t.Fatal("a released buffer was not used again")
	}
	if p.PictureID != 0x7ffe || p.TL0PICIDX != 0xfe {
		t.Fatalf("picture ID %#x TL0PICIDX %#x, want 0x7ffe 0xfe", p.PictureID, p.TL0PICIDX)
	}
	if !bytes.Equal(pl, orig) {
		t.Fatal("writing a viewer's picture ID changed the shared payload")
	}
}

// vp8Sent is a packet that reached the network side of a send path,
// copied (its payload buffer goes back to a pool).
type vp8Sent struct {
	h       rtp.Header
	payload []byte
}

// vp8PathUnderTest binds a VP8 stream (SSRC 7) on a send path and returns
// its writer, a function that feeds it a NACK, and what reached the
// network side.
func vp8PathUnderTest(t *testing.T) (interceptor.RTPWriter, func(...uint16), *[]vp8Sent) {
	t.Helper()
	i, err := sendPathFactory{}.NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	var out []vp8Sent
	info := &interceptor.StreamInfo{SSRC: 7, PayloadType: 96, MimeType: webrtc.MimeTypeVP8}
	w := i.BindLocalStream(info, interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
		out = append(out, vp8Sent{h: *h, payload: append([]byte(nil), payload...)})
		return len(payload), nil
	}))
	var pending []byte
	r := i.BindRTCPReader(interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		return copy(b, pending), a, nil
	}))
	nack := func(seqs ...uint16) {
		if pending, err = (&rtcp.TransportLayerNack{MediaSSRC: 7, Nacks: rtcp.NackPairsFromSequenceNumbers(seqs)}).Marshal(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.Read(make([]byte, 1500), nil); err != nil {
			t.Fatal(err)
		}
	}
	return w, nack, &out
}

// TestSendPathVP8Pictures: a viewer's send path numbers the frames it
// sends, whatever feed they were cut for: the picture ID and TL0PICIDX go
// up by one a frame, wrap as RFC 7741 says, are the same on every packet
// of a frame and on a resend, and the shared payloads stay untouched.
func TestSendPathVP8Pictures(t *testing.T) {
	w, nack, out := vp8PathUnderTest(t)
	h := rtp.Header{Version: 2, SSRC: 7, PayloadType: 96}
	var frames [][][]byte
	for f := 0; f < 300; f++ { // past a TL0PICIDX wrap
		frames = append(frames, cutVP8(vp8Frame(500+f*20, uint64(f))))
	}
	shared := append([]byte(nil), frames[3][0]...)
	for _, pls := range frames {
		for i, pl := range pls {
			h.Marker = i == len(pls)-1
			if _, err := w.Write(&h, pl, nil); err != nil {
				t.Fatal(err)
			}
			h.SequenceNumber++
		}
		// A probe's padding between frames takes no picture ID.
		ph := rtp.Header{Version: 2, SSRC: 7, PayloadType: 96, SequenceNumber: h.SequenceNumber, Padding: true, PaddingSize: 255}
		if _, err := w.Write(&ph, nil, nil); err != nil {
			t.Fatal(err)
		}
		h.SequenceNumber++
	}
	if !bytes.Equal(frames[3][0], shared) {
		t.Fatal("the send path wrote into a shared payload")
	}
	var lastPID uint16
	var lastTL0 uint8
	frame, pos := -1, 0
	bySeq := map[uint16]vp8Sent{}
	for _, s := range *out {
		if s.h.Padding {
			continue
		}
		bySeq[s.h.SequenceNumber] = s
		p, _ := depacketize(t, s.payload)
		if p.S == 1 {
			if frame >= 0 && (p.PictureID != (lastPID+1)&0x7fff || p.TL0PICIDX != lastTL0+1) {
				t.Fatalf("frame %d: picture ID %d TL0PICIDX %d after %d, %d", frame+1, p.PictureID, p.TL0PICIDX, lastPID, lastTL0)
			}
			frame, pos = frame+1, 0
			lastPID, lastTL0 = p.PictureID, p.TL0PICIDX
		} else if p.PictureID != lastPID || p.TL0PICIDX != lastTL0 {
			t.Fatalf("frame %d packet %d: picture ID %d, the frame's is %d", frame, pos, p.PictureID, lastPID)
		}
		if !bytes.Equal(s.payload[vp8DescSize:], frames[frame][pos][vp8DescSize:]) {
			t.Fatalf("frame %d packet %d: payload changed", frame, pos)
		}
		pos++
	}
	if frame != len(frames)-1 {
		t.Fatalf("%d frames seen, want %d", frame+1, len(frames))
	}
	// A NACK for a packet of the last frames is answered with the picture
	// ID it first went out with.
	lost := (*out)[len(*out)-4].h.SequenceNumber
	n := len(*out)
	nack(lost)
	if len(*out) != n+1 {
		t.Fatalf("the NACK was answered with %d packets", len(*out)-n)
	}
	re := (*out)[n]
	if re.h.SequenceNumber != lost || !bytes.Equal(re.payload, bySeq[lost].payload) {
		t.Fatalf("resend of %d differs from the packet first sent", lost)
	}
}

// TestSendPathVP8WriteAllocs: writing a viewer's picture ID costs no
// allocation per packet.
func TestSendPathVP8WriteAllocs(t *testing.T) {
	i, _ := sendPathFactory{}.NewInterceptor("")
	w := i.BindLocalStream(&interceptor.StreamInfo{SSRC: 7, MimeType: webrtc.MimeTypeVP8}, interceptor.RTPWriterFunc(func(_ *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
		return len(payload), nil
	}))
	pls := cutVP8(vp8Frame(4000, 1))
	h := rtp.Header{Version: 2, SSRC: 7}
	if n := testing.AllocsPerRun(1000, func() {
		for _, pl := range pls {
			h.SequenceNumber++
			_, _ = w.Write(&h, pl, nil)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per frame, want 0", n)
	}
}

// pathWriter hands a bound track's packets to a send path, as pion does.
type pathWriter struct{ w interceptor.RTPWriter }

func (p pathWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	return p.w.Write(h, payload, nil)
}
func (p pathWriter) Write(b []byte) (int, error) { return len(b), nil }

// pathContext binds a track to a pathWriter.
type pathContext struct {
	sinkContext
	w pathWriter
}

func (c pathContext) WriteStream() webrtc.TrackLocalWriter { return c.w }

// TestLoopVP8SwitchKeepsPictures: a VP8 viewer's loop reads the VP8 feeds
// only, and across a switch from one VP8 rung to another, on its
// keyframe, the browser sees picture IDs and sequence numbers run on
// without a jump, and every frame whole.
func TestLoopVP8SwitchKeepsPictures(t *testing.T) {
	hub := stream.NewHub(func(pub *stream.Publication) (stream.Pipeline, error) {
		pub.Stream().SetLadder([]stream.FeedInfo{
			{Name: "hi", Codec: stream.CodecH264, Width: 640, Height: 360, FPS: 30, Bitrate: 800_000},
			{Name: "lo", Codec: stream.CodecH264, Width: 320, Height: 180, FPS: 15, Bitrate: 250_000},
			{Name: "hi", Codec: stream.CodecVP8, Width: 640, Height: 360, FPS: 30, Bitrate: 800_000},
			{Name: "lo", Codec: stream.CodecVP8, Width: 320, Height: 180, FPS: 15, Bitrate: 250_000},
		}, stream.FeedInfo{Name: "audio", Codec: stream.CodecOpus})
		return nopPipeline{}, nil
	}, nil)
	t.Cleanup(func() { hub.Close() })
	pub, err := hub.Publish("cam", "test", []stream.Track{{Kind: stream.KindVideo, Codec: stream.CodecVP8}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := pub.Stream()
	v := NewViewer(Options{ID: "0123456789abcdef", Stream: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Ctx: context.Background(), Queue: 16, Config: DefaultConfig(), Teardown: func() {}, Codec: stream.CodecVP8})
	c := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	v.video, err = NewBoundTrack(c, "video", "test")
	if err != nil {
		t.Fatal(err)
	}
	i, _ := sendPathFactory{}.NewInterceptor("")
	var out []vp8Sent
	pw := pathWriter{i.BindLocalStream(&interceptor.StreamInfo{SSRC: 1, PayloadType: 96, MimeType: webrtc.MimeTypeVP8}, interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
		out = append(out, vp8Sent{h: *h, payload: append([]byte(nil), payload...)})
		return len(payload), nil
	}))}
	if _, err := v.video.Bind(pathContext{sinkContext: sinkContext{codec: webrtc.RTPCodecParameters{RTPCodecCapability: c, PayloadType: 96}}, w: pw}); err != nil {
		t.Fatal(err)
	}
	v.audio, _ = boundToSink(t, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, 111)
	hi, _ := st.RungFor("hi", stream.CodecVP8)
	lo, _ := st.RungFor("lo", stream.CodecVP8)
	hiH264, _ := st.Rung("hi")
	l := v.newLoop(hi)
	defer l.close()
	if l.cur.Feed() != hi || hiH264.Readers() != 0 {
		t.Fatal("a VP8 viewer reads an H.264 feed")
	}
	l.vout.pace.setRate(0) // every packet at once: this test is about the descriptor
	var sent [][]byte
	writeFrame := func(f *stream.Feed, r *stream.Reader, pts time.Duration, key bool, pending bool) {
		data := vp8Frame(2500, uint64(pts))
		f.Write(&stream.Packet{Kind: stream.KindVideo, PTS: pts, DTS: pts, Keyframe: key, Data: data})
		if pending {
			l.onPending(next(t, r))
		} else {
			l.onVideo(next(t, r))
		}
		sent = append(sent, data)
	}
	frame := 33 * time.Millisecond
	writeFrame(hi, l.cur, 0, true, false)
	for k := 1; k < 5; k++ {
		writeFrame(hi, l.cur, time.Duration(k)*frame, false, false)
	}
	l.onRungRequest("lo")
	if l.pending == nil || l.pending.Feed() != lo {
		t.Fatal("no switch to the VP8 lo rung under way")
	}
	writeFrame(lo, l.pending, 5*frame, true, true)
	if l.cur.Feed() != lo {
		t.Fatal("not switched to lo")
	}
	for k := 6; k < 10; k++ {
		writeFrame(lo, l.cur, time.Duration(k)*frame, false, false)
	}
	var got [][]byte
	var pid uint16
	for i, s := range out {
		if i > 0 && s.h.SequenceNumber != out[i-1].h.SequenceNumber+1 {
			t.Fatalf("sequence number jumps from %d to %d", out[i-1].h.SequenceNumber, s.h.SequenceNumber)
		}
		p, data := depacketize(t, s.payload)
		if p.S == 1 {
			if len(got) > 0 && p.PictureID != (pid+1)&0x7fff {
				t.Fatalf("frame %d: picture ID %d after %d", len(got), p.PictureID, pid)
			}
			pid = p.PictureID
			got = append(got, nil)
		}
		got[len(got)-1] = append(got[len(got)-1], data...)
	}
	if len(got) != len(sent) {
		t.Fatalf("%d frames reached the browser, want %d", len(got), len(sent))
	}
	for k := range sent {
		if !bytes.Equal(got[k], sent[k]) {
			t.Fatalf("frame %d differs", k)
		}
	}
	if in := v.Info(); in.Codec != "vp8" || in.Rung != "lo" {
		t.Fatalf("the API lists codec %q rung %q, want vp8 lo", in.Codec, in.Rung)
	}
}
