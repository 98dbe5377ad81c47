package transcode

import (
	"fmt"
	"syscall"
	"testing"

	"github.com/mutstream/mutstream/stream"
)

// pausedBenchSeconds is the length of the paused-rungs benchmark's clip.
const pausedBenchSeconds = 15

// BenchmarkPausedRungs reports the pipeline's CPU seconds per media second
// through the default ladder (pause_idle_rungs on) for a 720p30 clip, with
// a viewer on every rung (180p-lowfps included), with a viewer on 180p
// only, and with a viewer on 180p-lowfps only (180p paused, its scaler
// still feeding the capped variant).
func BenchmarkPausedRungs(b *testing.B) {
	src := makeInput(b, "paused.flv",
		"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", fmt.Sprint(pausedBenchSeconds), "-c:v", "libx264", "-preset", "veryfast", "-b:v", "4M",
		"-bf", "2", "-g", "60", "-c:a", "aac", "-b:a", "128k")
	tracks, pkts := demux(b, src)
	cfg := DefaultConfig()
	cfg.PauseIdleRungs = true
	// run publishes the clip with a reader on the rungs watch picks and
	// returns CPU seconds per media second.
	run := func(name string, watch func(rung string) bool) float64 {
		self0 := cpuTime(b, syscall.RUSAGE_SELF)
		hub := newTestHub(cfg)
		pub, err := hub.Publish(name, "bench", tracks, func() {})
		if err != nil {
			b.Fatal(err)
		}
		st := pub.Stream()
		n := publishFirstVideo(b, pub, pkts)
		var readers []*stream.Reader
		for _, f := range waitRungs(b, st) {
			if watch(f.Info().Name) {
				// Large enough for the whole clip: nobody drains it.
				readers = append(readers, f.Subscribe(pausedBenchSeconds*30*2))
			}
		}
		if len(readers) == 0 {
			b.Fatal("no rung to watch")
		}
		publishAll(b, pub, pkts[n:])
		waitIdle(b, st, pub)
		for _, r := range readers {
			if d := r.Drops(); d > 0 {
				b.Errorf("%s: a reader dropped %d packets", name, d)
			}
			r.Close()
		}
		hub.Close()
		return (cpuTime(b, syscall.RUSAGE_SELF) - self0).Seconds() / pausedBenchSeconds
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		all := run(fmt.Sprintf("all%d", i), func(string) bool { return true })
		low := run(fmt.Sprintf("low%d", i), func(r string) bool { return r == "180p" })
		capped := run(fmt.Sprintf("lowfps%d", i), func(r string) bool { return r == "180p-lowfps" })
		b.ReportMetric(all, "cpu-s/media-s-all-watched")
		b.ReportMetric(low, "cpu-s/media-s-180p-only")
		b.ReportMetric(capped, "cpu-s/media-s-180p-lowfps-only")
		fmt.Printf("viewers on every rung: %.3f CPU s per media s\nviewer on 180p only:   %.3f CPU s per media s (%.0f%%)\n"+
			"viewer on 180p-lowfps only: %.3f CPU s per media s (%.0f%%)\n",
			all, low, (low/all-1)*100, capped, (capped/all-1)*100)
	}
}
