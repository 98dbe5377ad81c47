package transcode

import (
	"fmt"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// benchSeconds is the length of the benchmark's source clip.
const benchSeconds = 30

// cpuTime returns user+system CPU time of who (RUSAGE_SELF or
// RUSAGE_CHILDREN).
func cpuTime(tb testing.TB, who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLadder transcodes a 30 s 720p30 H.264+AAC clip through the
// default ladder, then has the ffmpeg CLI do the same ladder with the same
// x264 and Opus settings, and reports CPU seconds per media second of both.
func BenchmarkLadder(b *testing.B) {
	src := makeInput(b, "bench.flv",
		"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", fmt.Sprint(benchSeconds), "-c:v", "libx264", "-preset", "veryfast", "-b:v", "4M",
		"-bf", "2", "-g", "60", "-c:a", "aac", "-b:a", "128k")
	tracks, pkts := demux(b, src)
	cfg := DefaultConfig()
	cfg.PauseIdleRungs = false // no viewers here: encode every rung anyway
	cfg.LowFPSRung = false     // the ffmpeg CLI run encodes the configured ladder only
	ff := needFFmpeg(b)
	args := ffmpegLadderArgs(src, cfg)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		self0 := cpuTime(b, syscall.RUSAGE_SELF)
		hub := newTestHub(cfg)
		pub, err := hub.Publish(fmt.Sprintf("bench%d", i), "bench", tracks, func() {})
		if err != nil {
			b.Fatal(err)
		}
		st := pub.Stream()
		n := publishFirstVideo(b, pub, pkts)
		waitRungs(b, st)
		publishAll(b, pub, pkts[n:])
		waitIdle(b, st, pub)
		hub.Close()
		ours := cpuTime(b, syscall.RUSAGE_SELF) - self0

		child0 := cpuTime(b, syscall.RUSAGE_CHILDREN)
		if out, err := exec.Command(ff, args...).CombinedOutput(); err != nil {
			b.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
		}
		theirs := cpuTime(b, syscall.RUSAGE_CHILDREN) - child0

		o, t := ours.Seconds()/benchSeconds, theirs.Seconds()/benchSeconds
		b.ReportMetric(o, "mediad-cpu-s/media-s")
		b.ReportMetric(t, "ffmpeg-cpu-s/media-s")
		b.ReportMetric(o/t, "ratio")
		fmt.Printf("mediad: %.3f CPU s per media s (%v for %ds)\nffmpeg: %.3f CPU s per media s (%v)\nratio:  %.3f\n",
			o, ours.Round(time.Millisecond), benchSeconds, t, theirs.Round(time.Millisecond), o/t)
	}
}

// ffmpegLadderArgs builds the ffmpeg CLI command that does what a Pipeline
// does with cfg on a source at least as large as the top rung.
func ffmpegLadderArgs(src string, cfg Config) []string {
	args := []string{"-hide_banner", "-loglevel", "error", "-i", src}
	graph := fmt.Sprintf("[0:v]split=%d", len(cfg.Ladder))
	for i := range cfg.Ladder {
		graph += fmt.Sprintf("[s%d]", i)
	}
	for i, r := range cfg.Ladder {
		graph += fmt.Sprintf(";[s%d]fps=%d,scale=%d:%d:flags=bilinear[v%d]", i, r.FPS, r.Width, r.Height, i)
	}
	args = append(args, "-filter_complex", graph)
	for i, r := range cfg.Ladder {
		rate := fmt.Sprint(r.Bitrate)
		args = append(args, "-map", fmt.Sprintf("[v%d]", i), "-c:v", "libx264",
			"-preset", cfg.Preset, "-tune", "zerolatency", "-profile:v", "baseline",
			"-bf", "0", "-sc_threshold", "0", "-g", fmt.Sprint(int(cfg.GOP.Seconds()*float64(r.FPS))),
			"-b:v", rate, "-maxrate", rate, "-bufsize", rate, "-threads", fmt.Sprint(cfg.Threads),
			"-pix_fmt", "yuv420p", "-f", "null", "-")
	}
	args = append(args, "-map", "0:a", "-c:a", "libopus", "-b:a", fmt.Sprint(cfg.AudioBitrate),
		"-ar", "48000", "-ac", "2", "-f", "null", "-")
	return args
}
