package transcode

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/asticode/go-astiav"

	"github.com/mutstream/mutstream/stream"
)

// needFFmpeg skips the test when the ffmpeg CLI is missing.
func needFFmpeg(tb testing.TB) string {
	tb.Helper()
	p, err := exec.LookPath("ffmpeg")
	if err != nil {
		tb.Skip("ffmpeg CLI not found in PATH: install ffmpeg to run transcode tests")
	}
	return p
}

// testClip makes secs seconds of the lavfi video filter (testsrc2 with a
// size and rate) as H.264 with B-frames and a keyframe every 30 frames.
func testClip(tb testing.TB, name, filter string, secs int) string {
	tb.Helper()
	return makeInput(tb, name, "-f", "lavfi", "-i", filter,
		"-t", strconv.Itoa(secs), "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "30")
}

// makeInput runs ffmpeg with args writing dir/name and returns the path.
func makeInput(tb testing.TB, name string, args ...string) string {
	tb.Helper()
	ff := needFFmpeg(tb)
	out := filepath.Join(tb.TempDir(), name)
	full := append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)
	full = append(full, out)
	cmd := exec.Command(ff, full...)
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("ffmpeg %v: %v\n%s", full, err, b)
	}
	return out
}

// demux reads a file into tracks and packets the way an ingest would:
// H.264 in Annex-B (h264_mp4toannexb), AAC raw with its AudioSpecificConfig.
func demux(tb testing.TB, path string) ([]stream.Track, []*stream.Packet) {
	tb.Helper()
	fc := astiav.AllocFormatContext()
	defer fc.Free()
	if err := fc.OpenInput(path, nil, nil); err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	defer fc.CloseInput()
	if err := fc.FindStreamInfo(nil); err != nil {
		tb.Fatalf("stream info: %v", err)
	}
	type in struct {
		kind stream.Kind
		tb   astiav.Rational
		bsf  *astiav.BitStreamFilterContext
	}
	ins := map[int]*in{}
	var tracks []stream.Track
	for _, s := range fc.Streams() {
		cp := s.CodecParameters()
		switch cp.MediaType() {
		case astiav.MediaTypeVideo:
			x := &in{kind: stream.KindVideo, tb: s.TimeBase()}
			if cp.CodecID() == astiav.CodecIDH264 {
				bsf, err := astiav.AllocBitStreamFilterContext(astiav.FindBitStreamFilterByName("h264_mp4toannexb"))
				if err != nil {
					tb.Fatal(err)
				}
				defer bsf.Free()
				if err := cp.Copy(bsf.InputCodecParameters()); err != nil {
					tb.Fatal(err)
				}
				bsf.SetInputTimeBase(s.TimeBase())
				if err := bsf.Initialize(); err != nil {
					tb.Fatal(err)
				}
				x.bsf = bsf
			}
			ins[s.Index()] = x
			tracks = append(tracks, stream.Track{Kind: stream.KindVideo, Codec: stream.Codec(cp.CodecID().Name()),
				Width: cp.Width(), Height: cp.Height(), FrameRate: s.AvgFrameRate().Float64()})
		case astiav.MediaTypeAudio:
			ins[s.Index()] = &in{kind: stream.KindAudio, tb: s.TimeBase()}
			tracks = append(tracks, stream.Track{Kind: stream.KindAudio, Codec: stream.Codec(cp.CodecID().Name()),
				SampleRate: cp.SampleRate(), Channels: cp.ChannelLayout().NbChannels(), Extradata: cp.ExtraData()})
		}
	}
	pkt := astiav.AllocPacket()
	defer pkt.Free()
	out := astiav.AllocPacket()
	defer out.Free()
	var pkts []*stream.Packet
	conv := func(p *astiav.Packet, x *in) {
		pkts = append(pkts, &stream.Packet{
			Kind:     x.kind,
			PTS:      toDuration(p.Pts(), x.tb),
			DTS:      toDuration(p.Dts(), x.tb),
			Duration: toDuration(p.Duration(), x.tb),
			Keyframe: p.Flags().Has(astiav.PacketFlagKey) || x.kind == stream.KindAudio,
			Data:     p.Data(),
		})
	}
	for {
		pkt.Unref()
		if err := fc.ReadFrame(pkt); err != nil {
			if errors.Is(err, astiav.ErrEof) {
				break
			}
			tb.Fatalf("read: %v", err)
		}
		x, ok := ins[pkt.StreamIndex()]
		if !ok {
			continue
		}
		if x.bsf == nil {
			conv(pkt, x)
			continue
		}
		if err := x.bsf.SendPacket(pkt); err != nil {
			tb.Fatalf("bsf: %v", err)
		}
		for {
			out.Unref()
			if err := x.bsf.ReceivePacket(out); err != nil {
				break
			}
			conv(out, x)
		}
	}
	return tracks, pkts
}

// publishAll writes pkts into pub, waiting when the pipeline's queue is
// nearly full so nothing is dropped.
func publishAll(tb testing.TB, pub *stream.Publication, pkts []*stream.Packet) {
	tb.Helper()
	for _, p := range pkts {
		for len(pub.Packets()) > cap(pub.Packets())*3/4 {
			time.Sleep(2 * time.Millisecond)
		}
		if err := pub.WritePacket(p); err != nil {
			tb.Fatalf("write packet: %v", err)
		}
	}
}

// waitIdle waits until pub's queue is empty and no feed has grown for a
// while.
func waitIdle(tb testing.TB, st *stream.Stream, pub *stream.Publication) {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last uint64
	stable := 0
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		var n uint64
		for _, c := range st.Codecs() {
			for _, f := range st.RungsFor(c) {
				p, _ := f.Stats()
				n += p
			}
		}
		if a := st.Audio(); a != nil {
			p, _ := a.Stats()
			n += p
		}
		if n == last && len(pub.Packets()) == 0 {
			if stable++; stable >= 6 {
				return
			}
			continue
		}
		last, stable = n, 0
	}
	tb.Fatal("pipeline never went idle")
}

// publishFirstVideo publishes pkts up to and including the first video
// packet (a keyframe), with which the pipeline installs its ladder, and
// returns how many it published.
func publishFirstVideo(tb testing.TB, pub *stream.Publication, pkts []*stream.Packet) int {
	tb.Helper()
	for i, p := range pkts {
		if p.Kind == stream.KindVideo {
			publishAll(tb, pub, pkts[:i+1])
			return i + 1
		}
	}
	tb.Fatal("no video packet")
	return 0
}

// waitRungs waits for the pipeline to install its ladder.
func waitRungs(tb testing.TB, st *stream.Stream) []*stream.Feed {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if r := st.Rungs(); len(r) > 0 {
			return r
		}
		time.Sleep(10 * time.Millisecond)
	}
	tb.Fatal("no ladder installed")
	return nil
}

// drain returns what r has queued now.
func drain(r *stream.Reader) []*stream.Packet {
	var out []*stream.Packet
	for {
		select {
		case p := <-r.C():
			out = append(out, p)
		default:
			return out
		}
	}
}

// decodeVideo decodes H.264 Annex-B packets and returns the frame count,
// the last frame size and the packets the decoder refused.
func decodeVideo(tb testing.TB, pkts []*stream.Packet) (frames, w, h, errs int) {
	tb.Helper()
	decodePackets(tb, "h264", pkts, func(f *astiav.Frame) {
		frames++
		w, h = f.Width(), f.Height()
	}, func(int, *stream.Packet, error) { errs++ })
	return frames, w, h, errs
}

// decodeWith decodes packets with FFmpeg's decoder name and calls fn with
// each frame, in packet order; it fails tb on any packet refused.
func decodeWith(tb testing.TB, name string, pkts []*stream.Packet, fn func(*astiav.Frame)) {
	tb.Helper()
	decodePackets(tb, name, pkts, fn, func(i int, p *stream.Packet, err error) {
		tb.Fatalf("%s packet %d (PTS %v, key %v): %v", name, i, p.PTS, p.Keyframe, err)
	})
}

// decodePackets decodes packets with FFmpeg's decoder name, calling fn with
// each frame in packet order and refused with each packet it refuses.
func decodePackets(tb testing.TB, name string, pkts []*stream.Packet, fn func(*astiav.Frame), refused func(int, *stream.Packet, error)) {
	tb.Helper()
	codec := astiav.FindDecoderByName(name)
	cc := astiav.AllocCodecContext(codec)
	defer cc.Free()
	if err := cc.Open(codec, nil); err != nil {
		tb.Fatal(err)
	}
	pkt := astiav.AllocPacket()
	defer pkt.Free()
	f := astiav.AllocFrame()
	defer f.Free()
	recv := func() {
		for {
			f.Unref()
			if err := cc.ReceiveFrame(f); err != nil {
				return
			}
			fn(f)
		}
	}
	for i, p := range pkts {
		pkt.Unref()
		if err := pkt.FromData(append(append([]byte(nil), p.Data...), make([]byte, 64)...)); err != nil {
			tb.Fatal(err)
		}
		pkt.SetSize(len(p.Data))
		if err := cc.SendPacket(pkt); err != nil {
			refused(i, p, err)
		}
		recv()
	}
	_ = cc.SendPacket(nil)
	recv()
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newTestHub(cfg Config) *stream.Hub {
	log := testLogger()
	return stream.NewHub(func(pub *stream.Publication) (stream.Pipeline, error) {
		return Start(pub, cfg, log)
	}, log)
}

func keyframePTS(pkts []*stream.Packet) []time.Duration {
	var out []time.Duration
	for _, p := range pkts {
		if p.Keyframe {
			out = append(out, p.PTS)
		}
	}
	return out
}

// decodeAll decodes every video packet with d, flushes it, and calls fn
// with each frame.
func decodeAll(t *testing.T, d *decoder, pkts []*stream.Packet, fn func(*astiav.Frame)) {
	t.Helper()
	drain := func() {
		for {
			f, err := d.receive()
			if err != nil {
				t.Fatalf("receive: %v", err)
			}
			if f == nil {
				return
			}
			fn(f)
		}
	}
	for _, p := range pkts {
		if p.Kind != stream.KindVideo {
			continue
		}
		if err := d.send(p); err != nil {
			t.Fatal(err)
		}
		drain()
	}
	if err := d.cc.SendPacket(nil); err != nil {
		t.Fatal(err)
	}
	drain()
}

// videoTrack returns the video track among tracks.
func videoTrack(tb testing.TB, tracks []stream.Track) stream.Track {
	tb.Helper()
	for _, tr := range tracks {
		if tr.Kind == stream.KindVideo {
			return tr
		}
	}
	tb.Fatal("no video track")
	return stream.Track{}
}
