package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestFanoutAgainstMediad: the tool against a real mediad (built here),
// published by the ffmpeg CLI, with 2 viewers on the source rung: both
// play, receive about the stream's rate, and the server's CPU is counted.
func TestFanoutAgainstMediad(t *testing.T) {
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
	o := options{ffmpeg: "ffmpeg", rung: "source", steps: []int{2}, rate: 20,
		warmup: time.Second, window: 3 * time.Second, out: t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := runServer(ctx, o, "mediad", bin)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("%d results, want 1", len(res))
	}
	r := res[0]
	t.Log(r)
	if r.Viewers != 2 || r.Connected != 2 || r.Refused != 0 {
		t.Errorf("viewers %d connected %d refused %d, want 2 2 0", r.Viewers, r.Connected, r.Refused)
	}
	// 1 Mb/s at 30 fps: well over 30 packets/s and 300 kb/s each.
	if r.PktsPerSMin < 30 || r.KbpsMin < 300 {
		t.Errorf("slowest viewer: %.1f packets/s, %.0f kb/s; want the stream's rate", r.PktsPerSMin, r.KbpsMin)
	}
	if r.ServerCPUMsPerS <= 0 || r.IdleCPUMsPerS <= 0 {
		t.Errorf("server CPU %.1f ms/s, idle %.1f ms/s: not measured", r.ServerCPUMsPerS, r.IdleCPUMsPerS)
	}
}
