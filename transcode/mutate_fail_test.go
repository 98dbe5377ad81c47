package transcode

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/asticode/go-astiav"
	"go.uber.org/goleak"

	"github.com/mutstream/mutstream/gpu"
	"github.com/mutstream/mutstream/gpu/cpu"
	"github.com/mutstream/mutstream/stream"
)

// TestMutatorFailsClosed: a frame the chain fails on (even after changing
// it) is never what comes out. Under hold the last good mutated frame
// does, under black a black frame of the failed frame's size; a frame of
// another size than the held one, or one no chain can be built for, gets
// a black frame too. Each is counted with its reason.
func TestMutatorFailsClosed(t *testing.T) {
	defer goleak.VerifyNone(t)
	base := LiveObjects()
	for _, policy := range []string{OnErrorHold, OnErrorBlack} {
		t.Run(policy, func(t *testing.T) {
			name := "mutF-" + policy
			m := newMutator(cpu.New(1), name, nil, testLogger())
			m.onError = policy
			var frames []*astiav.Frame
			defer func() {
				m.close()
				for _, f := range frames {
					free(f)
				}
			}()
			grey := func(w, h int, pf astiav.PixelFormat, v byte) *astiav.Frame {
				f := greyFrame(t, w, h, pf, v)
				frames = append(frames, f)
				return f
			}
			if err := m.set([]gpu.Spec{spec("test_invert_late")}, 64, 36); err != nil {
				t.Fatal(err)
			}
			if out := m.apply(grey(64, 36, astiav.PixelFormatYuv420P, 50), 0); meanY(t, out) != 205 {
				t.Fatalf("a good frame: mean luma %.1f, want 205", meanY(t, out))
			}
			applyBefore := mutationFailures(t, name, failApply)
			for i, pf := range []astiav.PixelFormat{astiav.PixelFormatYuv420P, astiav.PixelFormatNv12, astiav.PixelFormatYuv444P} {
				f := grey(64, 36, pf, 80) // the chain makes it 175, then fails
				out := m.apply(f, 90_000*int64(1+i))
				if out == nil || out == f {
					t.Fatalf("%s: a failed frame came out as it is (or nothing did)", pf)
				}
				want := 205.0 // the held frame
				if policy == OnErrorBlack {
					want = 16
					wf := pf // the format mutated frames have: yuv444p is converted
					if pf == astiav.PixelFormatYuv444P {
						wf = astiav.PixelFormatYuv420P
					}
					if out.PixelFormat() != wf {
						t.Errorf("%s: black frame in %s, want %s", pf, out.PixelFormat(), wf)
					}
				}
				if y := meanY(t, out); y != want || out.Width() != 64 || out.Height() != 36 {
					t.Errorf("%s: replacement %dx%d of mean luma %.1f, want 64x36 of %.0f", pf, out.Width(), out.Height(), y, want)
				}
				if y := meanY(t, f); y != 80 {
					t.Errorf("%s: decoded frame changed (mean luma %.1f)", pf, y)
				}
			}
			if d := mutationFailures(t, name, failApply) - applyBefore; d != 3 {
				t.Errorf("apply failures grew by %v, want 3", d)
			}
			// Another size than the held frame's: black of the new size.
			if out := m.apply(grey(66, 38, astiav.PixelFormatYuv420P, 80), 5*90_000); out == nil || meanY(t, out) != 16 || out.Width() != 66 || out.Height() != 38 {
				t.Errorf("resized failed frame: want a 66x38 black frame")
			}
			// No chain for the frame's size: black, counted as build.
			if err := m.set([]gpu.Spec{spec("test_even_only")}, 0, 0); err != nil {
				t.Fatal(err)
			}
			buildBefore := mutationFailures(t, name, failBuild)
			f := grey(65, 37, astiav.PixelFormatYuv420P, 80)
			if out := m.apply(f, 0); out == nil || out == f || meanY(t, out) != 16 || out.Width() != 65 {
				t.Errorf("a frame with no chain for its size: want a 65x37 black frame")
			}
			if d := mutationFailures(t, name, failBuild) - buildBefore; d != 1 {
				t.Errorf("build failures grew by %v, want 1", d)
			}
		})
	}
	if n := LiveObjects(); n != base {
		t.Errorf("LiveObjects() = %d after close, want %d", n, base)
	}
}

// frameStat is a decoded frame's mean luma and detail (mean absolute
// difference of horizontal neighbours), and its size.
type frameStat struct {
	mean, detail float64
	w, h         int
}

func (s frameStat) String() string {
	return fmt.Sprintf("%dx%d mean %.1f detail %.2f", s.w, s.h, s.mean, s.detail)
}

// frameStats decodes H.264 packets and measures each frame.
func frameStats(tb testing.TB, pkts []*stream.Packet) []frameStat {
	tb.Helper()
	var out []frameStat
	decodeH264(tb, pkts, func(f *astiav.Frame) {
		var v gpu.Frame
		if err := writableView(f, gpu.YUV420P, &v); err != nil {
			tb.Fatal(err)
		}
		sum, diff := 0, 0
		for y := 0; y < v.Height; y++ {
			row := v.Planes[0][y*v.Strides[0] : y*v.Strides[0]+v.Width]
			for x, b := range row {
				sum += int(b)
				if x > 0 {
					diff += int(math.Abs(float64(int(b) - int(row[x-1]))))
				}
			}
		}
		out = append(out, frameStat{
			mean:   float64(sum) / float64(v.Width*v.Height),
			detail: float64(diff) / float64((v.Width-1)*v.Height),
			w:      v.Width, h: v.Height,
		})
	})
	return out
}

// runChain publishes tracks and pkts as name through a pipeline with deps
// and returns the packets of the rung called rung.
func runChain(t *testing.T, name, rung string, cfg Config, deps Deps, tracks []stream.Track, pkts []*stream.Packet) (out []*stream.Packet, fails chainFailures) {
	t.Helper()
	hub, _ := startMutateHub(cfg, deps)
	pub, err := hub.Publish(name, "test", tracks, func() {})
	if err != nil {
		t.Fatal(err)
	}
	st := pub.Stream()
	first := publishFirstVideo(t, pub, pkts)
	feeds := waitRungs(t, st)
	i := slices.IndexFunc(feeds, func(f *stream.Feed) bool { return f.Info().Name == rung })
	if i < 0 {
		t.Fatalf("rungs %v: no %s", rungNames(feeds), rung)
	}
	r := feeds[i].Subscribe(4096)
	publishAll(t, pub, pkts[first:])
	waitIdle(t, st, pub)
	out = drain(r)
	// Read before the stream ends: an ended stream's series are deleted.
	fails = chainFailures{apply: mutationFailures(t, name, failApply), all: mutationFailures(t, name, "")}
	pub.Close()
	hub.Close()
	return out, fails
}

// chainFailures are a stream's mutation failure counts, apply and all.
type chainFailures struct{ apply, all float64 }

// TestMutateFailClosedPipeline: a chain that fails from 1 s on (after
// changing each frame) never lets the source out of the pipeline. The
// decoded output is the inverted source until then, and after it the held
// last good frame (hold) or black (black), never the dark source.
func TestMutateFailClosedPipeline(t *testing.T) {
	defer goleak.VerifyNone(t)
	tracks, pkts := darkInput(t, "late.mkv", "2")
	src := frameStats(t, ofKind(pkts, stream.KindVideo))
	cfg := DefaultConfig()
	cfg.Preset = "ultrafast"
	cfg.LowFPSRung = false
	for _, policy := range []string{OnErrorHold, OnErrorBlack} {
		t.Run(policy, func(t *testing.T) {
			name := "mutLate-" + policy
			out, fails := runChain(t, name, "180p", cfg, Deps{Backend: cpu.New(1), Chain: []gpu.Spec{spec("test_invert_late")}, OnError: policy}, tracks, pkts)
			stats := frameStats(t, out)
			if len(stats) != len(out) || len(stats) < 25 {
				t.Fatalf("%d frames decoded from %d packets, want about 30 (2 s at 15 fps)", len(stats), len(out))
			}
			var held frameStat
			late := 0
			for i, s := range stats {
				if s.mean < 100 && s.detail > 1 {
					t.Fatalf("frame %d at %v (%v): the unmutated source (source mean %.1f)", i, out[i].PTS, s, src[0].mean)
				}
				if out[i].PTS < time.Second {
					if s.mean < 150 {
						t.Errorf("frame %d at %v (%v): want the inverted source", i, out[i].PTS, s)
					}
					held = s
					continue
				}
				late++
				switch policy {
				case OnErrorHold:
					if math.Abs(s.mean-held.mean) > 2 || math.Abs(s.detail-held.detail) > 1 {
						t.Errorf("frame %d at %v (%v): want the held frame (%v)", i, out[i].PTS, s, held)
					}
				case OnErrorBlack:
					if s.mean < 14 || s.mean > 18 || s.detail > 0.5 {
						t.Errorf("frame %d at %v (%v): want black", i, out[i].PTS, s)
					}
				}
			}
			if late < 12 {
				t.Errorf("%d frames from 1 s on, want about 15", late)
			}
			if n := fails.apply; n < 25 {
				t.Errorf("%v apply failures counted, want about 30", n)
			}
		})
	}
	checkFreed(t)
}

// TestOddSourceBlurred: a 641x361 VP8 source (as a browser may publish)
// with a blur chain is blurred end to end: every frame is mutated at the
// source's odd size (no failure, nothing replaced) and scaled to an even
// 640x360 rung whose detail is far below the unblurred output's.
func TestOddSourceBlurred(t *testing.T) {
	defer goleak.VerifyNone(t)
	tracks, pkts := demux(t, makeInput(t, "odd.webm", "-f", "lavfi", "-i", "testsrc=size=641x361:rate=30",
		"-vf", "format=yuv444p,noise=alls=50:allf=t", // detail for the blur to take away
		"-t", "1", "-pix_fmt", "yuv420p", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "3M", "-g", "30"))
	if vt := videoTrack(t, tracks); vt.Width != 641 || vt.Height != 361 || vt.Codec != stream.CodecVP8 {
		t.Fatalf("source track %+v, want 641x361 vp8", vt)
	}
	cfg := DefaultConfig()
	cfg.Preset = "ultrafast"
	cfg.LowFPSRung = false
	specs, err := gpu.ParseChain([]byte(`[{"op":"blur","radius":8}]`), gpu.Env{Limits: gpu.DefaultLimits()})
	if err != nil {
		t.Fatal(err)
	}
	plainOut, _ := runChain(t, "oddPlain", "360p", cfg, Deps{Backend: cpu.New(2)}, tracks, pkts)
	blurredOut, fails := runChain(t, "oddBlur", "360p", cfg, Deps{Backend: cpu.New(2), Chain: specs}, tracks, pkts)
	plain, blurred := frameStats(t, plainOut), frameStats(t, blurredOut)
	if len(plain) < 20 || len(blurred) < 20 {
		t.Fatalf("%d plain and %d blurred frames, want about 30 each", len(plain), len(blurred))
	}
	detail := func(ss []frameStat) float64 {
		d := 0.0
		for _, s := range ss {
			if s.w != 640 || s.h != 360 {
				t.Fatalf("rung frame %v, want 640x360", s)
			}
			d += s.detail / float64(len(ss))
		}
		return d
	}
	dp, db := detail(plain), detail(blurred)
	t.Logf("detail: unblurred %.2f, blurred %.2f", dp, db)
	if db > dp/2 {
		t.Errorf("blurred output detail %.2f, want well below the unblurred %.2f", db, dp)
	}
	if n := fails.all; n != 0 {
		t.Errorf("%v frames replaced: the chain failed on the odd source", n)
	}
	checkFreed(t)
}
