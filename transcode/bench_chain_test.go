package transcode

import (
	"fmt"
	"syscall"
	"testing"

	"github.com/mutstream/mutstream/gpu"
	"github.com/mutstream/mutstream/gpu/cpu"
	"github.com/mutstream/mutstream/stream"
)

// chainBenchSeconds is the length of the chain benchmark's clip.
const chainBenchSeconds = 15

// BenchmarkLadderWithChain reports the pipeline's CPU seconds per media
// second through the default ladder for a 720p30 and a 1080p30 clip, with
// no chain and with the README's four-op chain (blur, watermark with the
// shipped logo, text, color) on the CPU backend.
func BenchmarkLadderWithChain(b *testing.B) {
	chain, err := gpu.ParseChain([]byte(`[{"op":"blur","rect":[0.6,0.1,0.3,0.3],"radius":12},
		{"op":"watermark","image":"logo.png","at":"top-right","opacity":0.6},
		{"op":"text","text":"{clock} {stream}","at":"bottom-left"},
		{"op":"color","brightness":0.1,"saturation":1.2}]`), gpu.Env{Limits: gpu.DefaultLimits(), AssetsDir: "../assets"})
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []string{"1280x720", "1920x1080"} {
		b.Run(size, func(b *testing.B) { benchLadderWithChain(b, size, chain) })
	}
}

func benchLadderWithChain(b *testing.B, size string, chain []gpu.Spec) {
	src := makeInput(b, "chain.flv",
		"-f", "lavfi", "-i", "testsrc2=size="+size+":rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", fmt.Sprint(chainBenchSeconds), "-c:v", "libx264", "-preset", "veryfast", "-b:v", "4M",
		"-bf", "2", "-g", "60", "-c:a", "aac", "-b:a", "128k")
	tracks, pkts := demux(b, src)
	cfg := DefaultConfig()
	cfg.PauseIdleRungs = false // no viewers here: encode every rung anyway
	cfg.LowFPSRung = false     // the configured ladder only, as in earlier figures
	run := func(name string, specs []gpu.Spec) float64 {
		self0 := cpuTime(b, syscall.RUSAGE_SELF)
		log := testLogger()
		hub := stream.NewHub(func(pub *stream.Publication) (stream.Pipeline, error) {
			return StartWith(pub, cfg, Deps{Backend: cpu.New(0), Chain: specs}, log)
		}, log)
		pub, err := hub.Publish(name, "bench", tracks, func() {})
		if err != nil {
			b.Fatal(err)
		}
		st := pub.Stream()
		n := publishFirstVideo(b, pub, pkts)
		waitRungs(b, st)
		publishAll(b, pub, pkts[n:])
		waitIdle(b, st, pub)
		hub.Close()
		return (cpuTime(b, syscall.RUSAGE_SELF) - self0).Seconds() / chainBenchSeconds
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		plain := run(fmt.Sprintf("plain%d", i), nil)
		with := run(fmt.Sprintf("chain%d", i), chain)
		b.ReportMetric(plain, "cpu-s/media-s-no-chain")
		b.ReportMetric(with, "cpu-s/media-s-4-op-chain")
		fmt.Printf("%s no chain: %.3f CPU s per media s\n%s 4-op chain: %.3f CPU s per media s (+%.0f%%)\n", size, plain, size, with, (with/plain-1)*100)
	}
}
