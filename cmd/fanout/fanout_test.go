package main

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFanoutInterleaved: the tool against two real mediads (built here),
// each published by the ffmpeg CLI, 2 viewers on the source rung, 2
// rounds: the windows take turns in the order A B B A, every viewer plays
// at about the stream's rate, the server's CPU is counted, and each N
// gives one median per server and one ratio per round.
func TestFanoutInterleaved(t *testing.T) {
	if testing.Short() {
		t.Skip("builds mediad and runs ffmpeg")
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("no ffmpeg CLI (make test-deps)")
	}
	bin := filepath.Join(t.TempDir(), "mediad")
	if out, err := exec.Command("go", "build", "-o", bin, "../mediad").CombinedOutput(); err != nil {
		t.Fatalf("go build mediad: %v\n%s", err, out)
	}
	dir := t.TempDir()
	o := options{ffmpeg: "ffmpeg", rung: "source", steps: []int{2}, rate: 20, rounds: 2,
		warmup: time.Second, window: 3 * time.Second, out: dir}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := runServers(ctx, o, []serverSpec{{name: "a", bin: bin}, {name: "b", bin: bin}})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, r := range out.rounds {
		t.Log(r)
		order = append(order, r.Server)
		if r.Viewers != 2 || r.Connected != 2 || r.Refused != 0 {
			t.Errorf("%s: viewers %d connected %d refused %d, want 2 2 0", r.Server, r.Viewers, r.Connected, r.Refused)
		}
		// 1 Mb/s at 30 fps: well over 30 packets/s and 300 kb/s each.
		if r.PktsPerSMin < 30 || r.KbpsMin < 300 {
			t.Errorf("%s: slowest viewer %.1f packets/s, %.0f kb/s; want the stream's rate", r.Server, r.PktsPerSMin, r.KbpsMin)
		}
		if r.ServerCPUMsPerS <= 0 || r.IdleCPUMsPerS <= 0 {
			t.Errorf("%s: server CPU %.1f ms/s, idle %.1f ms/s: not measured", r.Server, r.ServerCPUMsPerS, r.IdleCPUMsPerS)
		}
	}
	if got := strings.Join(order, " "); got != "a b b a" {
		t.Errorf("windows ran in the order %q, want \"a b b a\"", got)
	}
	if len(out.medians) != 2 || out.medians[0].Server != "a" || out.medians[1].Server != "b" ||
		out.medians[0].Rounds != 2 || out.medians[1].Rounds != 2 {
		t.Errorf("medians %+v: want one of 2 rounds per server", out.medians)
	}
	if len(out.pairs) != 1 || len(out.pairs[0].Ratios) != 2 {
		t.Fatalf("pairs %+v: want one with a ratio per round", out.pairs)
	}
	if m := out.pairs[0].MedianRatio(); !(m > 0) || math.IsInf(m, 0) {
		t.Errorf("median round ratio %v", m)
	}
	if err := out.write(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"fanout.csv", "fanout-rounds.csv", "fanout-pairs.csv", "fanout.png", "a.log", "b.log"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}
