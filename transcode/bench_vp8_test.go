package transcode

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/asticode/go-astiav"
)

// vp8BenchLoops is how many times the benchmark's decoded clip is encoded
// in a row (with rising timestamps), for 12 s of media from 3 s of frames
// held in memory.
const vp8BenchLoops = 4

// BenchmarkVP8Rung reports the CPU of one VP8 rung against the H.264 rung
// of the same size, rate and bitrate (the default ladder's 360p and 720p,
// 30 fps), each encoder with the pipeline's settings (libx264 veryfast
// zerolatency baseline with its default threads; libvpx realtime at the
// configured cpu-used and threads), fed the same decoded testsrc2 frames
// with a forced keyframe every GOP. CPU is user+system time of the process
// around the encode loop only: CPU seconds per media second.
// VP8_CPU_USED=N measures libvpx at another cpu-used.
func BenchmarkVP8Rung(b *testing.B) {
	cfg := DefaultConfig()
	if v := os.Getenv("VP8_CPU_USED"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("VP8_CPU_USED=%q: %v", v, err)
		}
		cfg.VP8.CPUUsed = n
	}
	for _, r := range []Rung{cfg.Ladder[1], cfg.Ladder[0]} {
		b.Run(fmt.Sprintf("%dx%d", r.Width, r.Height), func(b *testing.B) {
			frames := benchFrames(b, r)
			defer func() {
				for _, f := range frames {
					f.Free()
				}
			}()
			media := float64(len(frames)*vp8BenchLoops) / float64(r.FPS)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h264 := encodeCPU(b, frames, r, cfg, func() (*astiav.CodecContext, error) {
					return openH264Encoder(r.Width, r.Height, r.FPS, r.Bitrate, cfg)
				})
				vp8 := encodeCPU(b, frames, r, cfg, func() (*astiav.CodecContext, error) {
					return openVP8Encoder(r.Width, r.Height, r.FPS, r.Bitrate, cfg.VP8)
				})
				h, v := h264.Seconds()/media, vp8.Seconds()/media
				b.ReportMetric(h, "h264-cpu-s/media-s")
				b.ReportMetric(v, "vp8-cpu-s/media-s")
				b.ReportMetric(v/h, "vp8/h264")
				fmt.Printf("%s %dx%d@%d %d b/s: H.264 %.3f, VP8 (cpu-used %d, %d threads) %.3f CPU s per media s (x%.2f)\n",
					r.Name, r.Width, r.Height, r.FPS, r.Bitrate, h, cfg.VP8.CPUUsed, cfg.VP8.Threads, v, v/h)
			}
		})
	}
}

// benchFrames decodes 3 s of testsrc2 at the rung's size and rate.
func benchFrames(b *testing.B, r Rung) []*astiav.Frame {
	b.Helper()
	tracks, pkts := demux(b, makeInput(b, "bench.flv", "-f", "lavfi",
		"-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", r.Width, r.Height, r.FPS),
		"-t", "3", "-c:v", "libx264", "-preset", "ultrafast", "-bf", "0", "-qp", "10"))
	d, err := openDecoder(videoTrack(b, tracks))
	if err != nil {
		b.Fatal(err)
	}
	defer d.close()
	var frames []*astiav.Frame
	keep := func(f *astiav.Frame) {
		c := astiav.AllocFrame()
		if err := c.Ref(f); err != nil {
			b.Fatal(err)
		}
		frames = append(frames, c)
	}
	for _, p := range pkts {
		if err := d.send(p); err != nil {
			b.Fatal(err)
		}
		for {
			f, err := d.receive()
			if err != nil {
				b.Fatal(err)
			}
			if f == nil {
				break
			}
			keep(f)
		}
	}
	return frames
}

// encodeCPU encodes frames vp8BenchLoops times with the encoder open
// gives and returns the process CPU time it took.
func encodeCPU(b *testing.B, frames []*astiav.Frame, r Rung, cfg Config, open func() (*astiav.CodecContext, error)) time.Duration {
	b.Helper()
	cc, err := open()
	if err != nil {
		b.Fatal(err)
	}
	defer free(cc)
	pkt, err := allocPacket()
	if err != nil {
		b.Fatal(err)
	}
	defer free(pkt)
	step := int64(90000 / r.FPS)
	gop := toTicks(cfg.GOP, videoTimeBase)
	bytes := 0
	start := cpuTime(b, syscall.RUSAGE_SELF)
	for i := 0; i < len(frames)*vp8BenchLoops; i++ {
		f := frames[i%len(frames)]
		pts := int64(i) * step
		f.SetPts(pts)
		f.SetPictureType(astiav.PictureTypeNone)
		if pts%gop < step {
			f.SetPictureType(astiav.PictureTypeI)
		}
		if err := cc.SendFrame(f); err != nil {
			b.Fatal(err)
		}
		if err := drainPackets(cc, pkt, func(p *astiav.Packet) { bytes += p.Size() }); err != nil {
			b.Fatal(err)
		}
	}
	if err := cc.SendFrame(nil); err == nil {
		_ = drainPackets(cc, pkt, func(p *astiav.Packet) { bytes += p.Size() })
	}
	used := cpuTime(b, syscall.RUSAGE_SELF) - start
	secs := float64(len(frames)*vp8BenchLoops) / float64(r.FPS)
	b.ReportMetric(float64(bytes*8)/secs, string(cc.CodecID().Name())+"-bps")
	return used
}
