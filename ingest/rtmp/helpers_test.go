package rtmp

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

const goodToken = "s3cret"

// recorder is the fake Pipeline: it keeps every packet of one publication.
type recorder struct {
	pub  *stream.Publication
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	packets []*stream.Packet
}

func newRecorder(pub *stream.Publication) *recorder {
	r := &recorder{pub: pub, stop: make(chan struct{}), done: make(chan struct{})}
	go r.run()
	return r
}

func (r *recorder) run() {
	defer close(r.done)
	for {
		select {
		case p := <-r.pub.Packets():
			r.mu.Lock()
			r.packets = append(r.packets, p)
			r.mu.Unlock()
		case <-r.pub.Done():
			return
		case <-r.stop:
			return
		}
	}
}

// Close stops the recorder and waits for it.
func (r *recorder) Close() error {
	close(r.stop)
	<-r.done
	return nil
}

func (r *recorder) snapshot() []*stream.Packet {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*stream.Packet(nil), r.packets...)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.packets)
}

// env is a Hub with recording pipelines and a Server on 127.0.0.1:0.
type env struct {
	t   *testing.T
	hub *stream.Hub
	srv *Server

	mu   sync.Mutex
	recs []*recorder
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	return newEnvOpts(t, cfg)
}

// newEnvOpts is newEnv with Server options.
func newEnvOpts(t *testing.T, cfg Config, opts ...Option) *env {
	t.Helper()
	e := &env{t: t}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel()}))
	e.hub = stream.NewHub(func(pub *stream.Publication) (stream.Pipeline, error) {
		r := newRecorder(pub)
		e.mu.Lock()
		e.recs = append(e.recs, r)
		e.mu.Unlock()
		return r, nil
	}, log)
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	auth := func(name, token string) bool { return token == goodToken }
	e.srv = NewServer(cfg, e.hub, auth, log, opts...)
	if err := e.srv.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		if err := e.srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		e.hub.Close()
	})
	return e
}

func logLevel() slog.Level {
	if testing.Verbose() {
		return slog.LevelDebug
	}
	return slog.LevelError
}

func (e *env) url(app, name, token string) string {
	u := fmt.Sprintf("rtmp://%s/%s/%s", e.srv.Addr(), app, name)
	if token != "" {
		u += "?token=" + token
	}
	return u
}

// recorders returns the publications of name seen so far, oldest first.
func (e *env) recorders(name string) []*recorder {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*recorder
	for _, r := range e.recs {
		if r.pub.Stream().Name() == name {
			out = append(out, r)
		}
	}
	return out
}

func (e *env) publications() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.recs)
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rejected reads the rejection counter for reason.
func rejected(reason string) float64 {
	return testutil.ToFloat64(metrics.IngestRejected.WithLabelValues("rtmp", reason))
}

func needFFmpeg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not in PATH: the RTMP end-to-end tests need the ffmpeg CLI as publisher")
	}
}

// pubOpts chooses what an ffmpeg publisher sends.
type pubOpts struct {
	secs  int
	video bool
	audio string   // "aac", "mp3" or ""
	size  string   // WxH, default 320x180
	extra []string // output options before the URL
}

// ffmpegProc is a running ffmpeg publisher.
type ffmpegProc struct {
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan struct{}
	err  error
}

// startFFmpeg publishes to url with ffmpeg -re; the process is killed and
// reaped at the end of the test.
func startFFmpeg(t *testing.T, url string, o pubOpts) *ffmpegProc {
	t.Helper()
	if o.size == "" {
		o.size = "320x180"
	}
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-re"}
	if o.video {
		args = append(args, "-f", "lavfi", "-i", "testsrc2=size="+o.size+":rate=30")
	}
	if o.audio != "" {
		args = append(args, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100")
	}
	args = append(args, "-t", strconv.Itoa(o.secs))
	if o.video {
		args = append(args, "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "30", "-pix_fmt", "yuv420p")
	}
	switch o.audio {
	case "aac":
		args = append(args, "-c:a", "aac", "-b:a", "64k")
	case "mp3":
		args = append(args, "-c:a", "libmp3lame", "-b:a", "64k")
	}
	args = append(args, o.extra...)
	args = append(args, "-f", "flv", url)
	ctx, cancel := context.WithCancel(context.Background())
	p := &ffmpegProc{cmd: exec.CommandContext(ctx, "ffmpeg", args...), out: &bytes.Buffer{}, done: make(chan struct{})}
	p.cmd.Stdout = p.out
	p.cmd.Stderr = p.out
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start ffmpeg: %v", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.done
	})
	return p
}

// wait waits for ffmpeg to exit and returns its error and output.
func (p *ffmpegProc) wait(t *testing.T, d time.Duration) (string, error) {
	t.Helper()
	select {
	case <-p.done:
		return p.out.String(), p.err
	case <-time.After(d):
		t.Fatalf("ffmpeg still running after %s", d)
		return "", nil
	}
}

func (p *ffmpegProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}
