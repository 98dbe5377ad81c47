package adapt

import (
	"testing"
	"time"
)

// BenchmarkUpdate measures one Update on the RFC 8867 section 5.1 trace
// (scaled x2), replayed open loop.
func BenchmarkUpdate(b *testing.B) {
	l := newLink(1,
		segment{40 * time.Second, 2_000_000},
		segment{20 * time.Second, 5_000_000},
		segment{20 * time.Second, 1_200_000},
		segment{20 * time.Second, 2_000_000},
	)
	steps := run(b, DefaultConfig(), l)
	stats := make([]Stats, len(steps))
	for i, s := range steps {
		stats[i] = s.stats
	}
	span := stats[len(stats)-1].Now.Sub(t0) + tick
	c := New(DefaultConfig(), ladder, t0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s := stats[i%len(stats)]
		s.Now = s.Now.Add(time.Duration(i/len(stats)) * span)
		c.Update(s)
	}
}

// BenchmarkReplay measures Replay of the whole 100 s trace (501 updates).
func BenchmarkReplay(b *testing.B) {
	l := newLink(1, segment{50 * time.Second, 5_000_000}, segment{50 * time.Second, 600_000})
	steps := run(b, DefaultConfig(), l)
	stats := make([]Stats, len(steps))
	for i, s := range steps {
		stats[i] = s.stats
	}
	b.ReportAllocs()
	for b.Loop() {
		Replay(DefaultConfig(), ladder, stats)
	}
}
