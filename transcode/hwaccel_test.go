package transcode

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/asticode/go-astiav"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/mutstream/mutstream/gpu/probe"
	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// logBuffer is a slog handler target that tests read back.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func captureLog() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// probeOnce runs the capability probe once per test binary.
var probeOnce = sync.OnceValue(func() probe.Report {
	var r probe.Report
	CaptureFFmpegLogs(func() { r = probe.Probe(probe.ModeAuto) })
	return r
})

// stageOnGPU reports whether the probe put stage on backend.
func stageOnGPU(stage, backend string) bool {
	s, ok := probeOnce().Stage(stage)
	return ok && s.Backend == backend
}

func TestPickCUDAFormat(t *testing.T) {
	for _, tc := range []struct {
		in   []astiav.PixelFormat
		want astiav.PixelFormat
	}{
		{[]astiav.PixelFormat{astiav.PixelFormatCuda, astiav.PixelFormatYuv420P}, astiav.PixelFormatCuda},
		{[]astiav.PixelFormat{astiav.PixelFormatVaapi, astiav.PixelFormatCuda, astiav.PixelFormatYuv420P}, astiav.PixelFormatCuda},
		{[]astiav.PixelFormat{astiav.PixelFormatVaapi, astiav.PixelFormatYuv420P}, astiav.PixelFormatYuv420P},
		{[]astiav.PixelFormat{astiav.PixelFormatYuv420P10Le}, astiav.PixelFormatYuv420P10Le},
		{nil, astiav.PixelFormatNone},
	} {
		if got := pickCUDAFormat(tc.in); got != tc.want {
			t.Errorf("pickCUDAFormat(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestNVENCPreset(t *testing.T) {
	for x264 := range x264Presets {
		p := nvencPreset(x264)
		if p != "p1" && p != "p2" && p != "p3" && p != "p4" {
			t.Errorf("nvencPreset(%q) = %q, want one of the low-latency p1..p4", x264, p)
		}
	}
	if nvencPreset("ultrafast") != "p1" || nvencPreset("veryfast") != "p2" {
		t.Errorf("ultrafast -> %s, veryfast -> %s; want p1, p2", nvencPreset("ultrafast"), nvencPreset("veryfast"))
	}
}

// TestFallbackDecoderNVDEC opens the video decoder with NVDEC asked for: on
// a machine without it, it falls back to the CPU decoder and says why; on a
// GPU, frames come back in device memory and download to the host. Either way every frame
// decodes at the source size with its timestamp.
func TestFallbackDecoderNVDEC(t *testing.T) {
	defer goleak.VerifyNone(t)
	src := makeInput(t, "in.flv", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30",
		"-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "15")
	tracks, pkts := demux(t, src)
	vt := videoTrack(t, tracks)
	log, logs := captureLog()
	var d *decoder
	CaptureFFmpegLogs(func() {
		var err error
		d, err = openVideoDecoder(vt, Hardware{Decode: true}, log)
		if err != nil {
			t.Fatalf("openVideoDecoder: %v", err)
		}
	})
	nvdec := stageOnGPU(probe.StageDecode, probe.BackendNVDEC)
	switch {
	case d.hw != nil:
		if !strings.Contains(logs.String(), "video decodes on NVDEC") {
			t.Errorf("decoder on NVDEC but the log does not say so:\n%s", logs)
		}
	case nvdec:
		t.Errorf("the probe found NVDEC but the decoder fell back to the CPU:\n%s", logs)
	default:
		if !strings.Contains(logs.String(), "NVDEC did not open") || !strings.Contains(logs.String(), "reason=") {
			t.Errorf("fallback to the CPU decoder not logged with a reason:\n%s", logs)
		}
	}
	t.Logf("NVDEC in use: %v (probe: %v); log:\n%s", d.hw != nil, nvdec, logs)

	frames := 0
	var last int64 = -1
	check := func(f *astiav.Frame) {
		f, err := d.host(f)
		if err != nil {
			t.Fatalf("frame %d: to host: %v", frames, err)
		}
		frames++
		if pf := f.PixelFormat(); pf != astiav.PixelFormatNv12 && pf != astiav.PixelFormatYuv420P {
			t.Fatalf("frame %d: pixel format %v, want a host NV12 or YUV420P frame", frames, pf)
		}
		if f.Width() != 320 || f.Height() != 240 {
			t.Fatalf("frame %d: %dx%d, want 320x240", frames, f.Width(), f.Height())
		}
		if f.Pts() == astiav.NoPtsValue || f.Pts() <= last {
			t.Fatalf("frame %d: pts %d after %d", frames, f.Pts(), last)
		}
		last = f.Pts()
	}
	decodeAll(t, d, pkts, check)
	d.close()
	if frames != 30 {
		t.Errorf("%d frames, want 30", frames)
	}
	checkFreed(t)
}

// TestFallbackEncoderNVENC opens a rung's encoder with NVENC asked for: on
// a machine without it, libx264 with the reason logged. Either way forced
// IDRs come out where the pipeline puts them and nowhere else.
func TestFallbackEncoderNVENC(t *testing.T) {
	defer goleak.VerifyNone(t)
	log, logs := captureLog()
	var (
		cc   *astiav.CodecContext
		name string
		err  error
	)
	CaptureFFmpegLogs(func() {
		cc, name, err = openVideoEncoder(320, 180, 30, 300_000, DefaultConfig(), Hardware{Encode: true}, log)
	})
	if err != nil {
		t.Fatalf("openVideoEncoder: %v", err)
	}
	defer free(cc)
	nvenc := stageOnGPU(probe.StageEncode, probe.BackendNVENC)
	switch {
	case name == encoderNVENC:
	case nvenc:
		t.Errorf("the probe found NVENC but the rung fell back to %s:\n%s", name, logs)
	default:
		if name != encoderX264 || !strings.Contains(logs.String(), "NVENC did not open") || !strings.Contains(logs.String(), "reason=") {
			t.Errorf("encoder %s; fallback to libx264 not logged with a reason:\n%s", name, logs)
		}
	}
	t.Logf("encoder: %s (probe NVENC: %v); log:\n%s", name, nvenc, logs)

	f, err := allocFrame()
	if err != nil {
		t.Fatal(err)
	}
	defer free(f)
	f.SetWidth(320)
	f.SetHeight(180)
	f.SetPixelFormat(astiav.PixelFormatYuv420P)
	if err := f.AllocBuffer(0); err != nil {
		t.Fatal(err)
	}
	if err := f.ImageFillBlack(); err != nil {
		t.Fatal(err)
	}
	pkt, err := allocPacket()
	if err != nil {
		t.Fatal(err)
	}
	defer free(pkt)
	var keys []int64
	packets := 0
	collect := func(p *astiav.Packet) {
		packets++
		if p.Flags().Has(astiav.PacketFlagKey) {
			keys = append(keys, p.Pts())
		}
	}
	for i := int64(0); i < 45; i++ {
		pts := i * 3000
		f.SetPts(pts)
		f.SetPictureType(astiav.PictureTypeNone)
		if i == 0 || i == 20 {
			f.SetPictureType(astiav.PictureTypeI)
		}
		if err := cc.SendFrame(f); err != nil {
			t.Fatalf("encode: %v", err)
		}
		if err := drainPackets(cc, pkt, collect); err != nil {
			t.Fatalf("receive: %v", err)
		}
	}
	if err := cc.SendFrame(nil); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if err := drainPackets(cc, pkt, collect); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if packets != 45 || len(keys) != 2 || keys[0] != 0 || keys[1] != 20*3000 {
		t.Errorf("%s: %d packets, keyframes at %v; want 45 packets, keyframes at [0 60000]", name, packets, keys)
	}
}

// TestPipelineFallbackHardware runs a whole pipeline with NVDEC, scale_cuda
// and NVENC asked for: without them it decodes, scales and encodes on the
// CPU, says why, and the rungs come out as usual; on a GPU the same rungs
// come out of the device path. Every FFmpeg object is freed at the end.
func TestPipelineFallbackHardware(t *testing.T) {
	defer goleak.VerifyNone(t)
	src := testClip(t, "in.flv", "testsrc2=size=640x360:rate=30", 2)
	tracks, pkts := demux(t, src)
	cfg := DefaultConfig()
	cfg.SourceRung, cfg.LowFPSRung, cfg.PauseIdleRungs = false, false, false
	log, logs := captureLog()
	hub := stream.NewHub(func(pub *stream.Publication) (stream.Pipeline, error) {
		return StartWith(pub, cfg, Deps{Hardware: Hardware{Decode: true, Scale: true, Encode: true}}, log)
	}, log)
	pub, err := hub.Publish("hw", "test", tracks, func() {})
	if err != nil {
		t.Fatal(err)
	}
	st := pub.Stream()
	first := publishFirstVideo(t, pub, pkts)
	feeds := waitRungs(t, st)
	readers := make([]*stream.Reader, len(feeds))
	for i, f := range feeds {
		readers[i] = f.Subscribe(4096)
	}
	publishAll(t, pub, pkts[first:])
	waitIdle(t, st, pub)
	out := make([][]*stream.Packet, len(feeds))
	for i, r := range readers {
		out[i] = drain(r)
	}
	pub.Close()
	hub.Close()

	want := map[string][2]int{"360p": {640, 360}, "180p": {320, 180}}
	if len(feeds) != len(want) {
		t.Fatalf("%d rungs, want %d", len(feeds), len(want))
	}
	for i, f := range feeds {
		name := f.Info().Name
		n, w, h, errs := decodeVideo(t, out[i])
		if errs > 0 || n < 25 || w != want[name][0] || h != want[name][1] {
			t.Errorf("%s: %d frames %dx%d, %d errors; want %v and no errors", name, n, w, h, errs, want[name])
		}
		if k := keyframePTS(out[i]); len(out[i]) == 0 || len(k) != 1 || k[0] != out[i][0].PTS {
			t.Errorf("%s: keyframes at %v, want one on the first frame (GOP 2s over a 2s clip)", name, k)
		}
	}
	s := logs.String()
	if !stageOnGPU(probe.StageDecode, probe.BackendNVDEC) && !strings.Contains(s, "video decodes on the CPU: NVDEC did not open") {
		t.Errorf("no NVDEC fallback logged:\n%s", s)
	}
	if !stageOnGPU(probe.StageEncode, probe.BackendNVENC) && (!strings.Contains(s, "NVENC did not open") || !strings.Contains(s, "360p:libx264 180p:libx264")) {
		t.Errorf("no NVENC fallback logged:\n%s", s)
	}
	if stageOnGPU(probe.StageScale, probe.BackendScaleCUDA) && strings.Contains(s, "scale_cuda failed") {
		t.Errorf("scale_cuda fell back on a GPU that has it:\n%s", s)
	}
	checkFreed(t)
}

// TestNVDECFailsMidStream: an NVDEC decoder that keeps failing is replaced
// by the CPU decoder after nvdecMaxErrors errors in a row, which is logged
// and counted, and the stream decodes again from its next keyframe. (The
// NVDEC decoder is stood in for by a CPU decoder marked as one: no GPU
// here to fail.)
func TestNVDECFailsMidStream(t *testing.T) {
	defer goleak.VerifyNone(t)
	tracks, pkts := demux(t, testClip(t, "in.flv", "testsrc2=size=320x240:rate=30", 1))
	vt := videoTrack(t, tracks)
	log, logs := captureLog()
	d, err := openDecoder(vt)
	if err != nil {
		t.Fatal(err)
	}
	d.hw = &hwDecode{} // stands for NVDEC
	v := &videoPath{p: &Pipeline{log: log, name: "cam"}, dec: d, track: vt}
	before := testutil.ToFloat64(metrics.HardwareFallbacks.WithLabelValues("decode"))
	for i := 1; i < nvdecMaxErrors; i++ {
		v.nvdecFailed(errors.New("CUDA_ERROR_LAUNCH_FAILED"))
		if v.dec != d {
			t.Fatalf("decoder replaced after %d errors, want %d", i, nvdecMaxErrors)
		}
	}
	v.hwErrs = 0 // a good frame in between: the count starts again
	for i := 0; i < nvdecMaxErrors; i++ {
		v.nvdecFailed(astiav.ErrInvaliddata) // a corrupt input is not NVDEC's failure
	}
	if v.dec != d {
		t.Fatal("decoder replaced on invalid input data")
	}
	for i := 0; i < nvdecMaxErrors; i++ {
		v.nvdecFailed(errors.New("CUDA_ERROR_LAUNCH_FAILED"))
	}
	if v.dec == d || v.dec.hw != nil || !v.needKey {
		t.Fatalf("after %d errors in a row: decoder %p (was %p), on NVDEC %v, waits for a keyframe %v", nvdecMaxErrors, v.dec, d, v.dec.hw != nil, v.needKey)
	}
	if !strings.Contains(logs.String(), "NVDEC failed mid-stream") || !strings.Contains(logs.String(), "CUDA_ERROR_LAUNCH_FAILED") {
		t.Errorf("fallback not logged with its reason:\n%s", logs)
	}
	if got := testutil.ToFloat64(metrics.HardwareFallbacks.WithLabelValues("decode")) - before; got != 1 {
		t.Errorf("mediad_hardware_fallbacks_total{stage=decode} rose by %v, want 1", got)
	}
	// From the first keyframe on, as the stream goes on.
	for len(pkts) > 0 && !(pkts[0].Kind == stream.KindVideo && pkts[0].Keyframe) {
		pkts = pkts[1:]
	}
	frames := 0
	decodeAll(t, v.dec, pkts, func(*astiav.Frame) { frames++ })
	v.dec.close()
	if frames < 20 {
		t.Errorf("%d frames decoded on the CPU decoder, want most of 30", frames)
	}
	checkFreed(t)
}
