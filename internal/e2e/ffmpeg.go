package e2e

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// FFmpegPath finds the ffmpeg CLI, or skips the test.
func FFmpegPath(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg not installed: run `make test-deps` (Debian package ffmpeg)")
	}
	return p
}

// Publisher is a running ffmpeg process.
type Publisher struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	out    strings.Builder
	err    error
}

// PublishTestPattern starts ffmpeg sending a lavfi test pattern and a tone
// over RTMP to url, in real time, for seconds (0 = until stopped).
func PublishTestPattern(t testing.TB, url, size string, rate int, seconds int, extra ...string) *Publisher {
	t.Helper()
	args := []string{"-hide_banner", "-loglevel", "warning", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=" + size + ":rate=" + itoa(rate),
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"}
	if seconds > 0 {
		args = append(args, "-t", itoa(seconds))
	}
	args = append(args, "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", itoa(rate),
		"-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k")
	args = append(args, extra...)
	args = append(args, "-f", "flv", url)
	return StartFFmpeg(t, args...)
}

// StartFFmpeg runs ffmpeg with args until it exits or Stop is called; it is
// stopped when the test ends.
func StartFFmpeg(t testing.TB, args ...string) *Publisher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &Publisher{cmd: exec.CommandContext(ctx, FFmpegPath(t), args...), cancel: cancel, done: make(chan struct{})}
	p.cmd.Stdout = &lockedWriter{p: p}
	p.cmd.Stderr = &lockedWriter{p: p}
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start ffmpeg: %v", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.Stop)
	return p
}

// Stop kills ffmpeg and waits for it.
func (p *Publisher) Stop() {
	p.cancel()
	<-p.done
}

// Done is closed when ffmpeg exits.
func (p *Publisher) Done() <-chan struct{} { return p.done }

// Output returns what ffmpeg printed.
func (p *Publisher) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

type lockedWriter struct{ p *Publisher }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	if w.p.out.Len() < 64<<10 {
		w.p.out.Write(b)
	}
	return len(b), nil
}

func itoa(i int) string { return strconv.Itoa(i) }

// MakeTS writes an MPEG-TS file of a test pattern and a tone with ffmpeg:
// H.264 High with B-frames (as OBS sends) unless baseline, and Opus.
func MakeTS(t testing.TB, path, size string, rate, seconds int, baseline bool) {
	t.Helper()
	v := []string{"-c:v", "libx264", "-profile:v", "high", "-bf", "2"}
	if baseline {
		v = []string{"-c:v", "libx264", "-profile:v", "baseline"}
	}
	args := []string{"-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=" + size + ":rate=" + strconv.Itoa(rate),
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", strconv.Itoa(seconds)}
	args = append(args, v...)
	args = append(args, "-preset", "veryfast", "-g", strconv.Itoa(rate), "-pix_fmt", "yuv420p",
		"-c:a", "libopus", "-b:a", "64k", "-ac", "2", "-f", "mpegts", path)
	out, err := exec.Command(FFmpegPath(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
}
