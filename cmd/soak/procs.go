package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// server is the mediad process under test.
type server struct {
	cmd      *exec.Cmd
	base     string // http://127.0.0.1:PORT
	rtmp     string // rtmp://127.0.0.1:PORT/live
	log      *os.File
	done     chan struct{}
	err      error
	restarts atomic.Int64 // publisher restarts
}

// startServer writes a config under o.out and starts mediad on free
// loopback ports, waiting for /healthz.
func startServer(o options, w, h int) (*server, error) {
	hp, err := freePort("tcp")
	if err != nil {
		return nil, err
	}
	rp, err := freePort("tcp")
	if err != nil {
		return nil, err
	}
	up, err := freePort("udp")
	if err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`# Written by cmd/soak.
demo: {enabled: true, width: %d, height: %d, fps: 30}
webrtc: {udp_addr: 127.0.0.1}
auth: {publish_token: %s, admin_token: %s}
log: {level: warn}
`, w, h, publishToken, adminToken)
	cfgPath := filepath.Join(o.out, "mediad.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(o.out, "mediad.log"))
	if err != nil {
		return nil, err
	}
	s := &server{
		base: fmt.Sprintf("http://127.0.0.1:%d", hp),
		rtmp: fmt.Sprintf("rtmp://127.0.0.1:%d/live", rp),
		log:  logf,
		done: make(chan struct{}),
	}
	s.cmd = exec.Command(o.mediad, "serve", "--config", cfgPath,
		"--http", fmt.Sprintf("127.0.0.1:%d", hp), "--rtmp", fmt.Sprintf("127.0.0.1:%d", rp), "--webrtc-udp", strconv.Itoa(up))
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w (make build)", o.mediad, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				fmt.Printf("soak: mediad pid %d at %s\n", s.cmd.Process.Pid, s.base)
				return s, nil
			}
		}
		select {
		case <-s.done:
			logf.Close()
			return nil, fmt.Errorf("mediad exited at start: %v (see %s)", s.err, logf.Name())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("mediad not healthy in 30 s (see %s)", logf.Name())
		}
	}
}

// stop asks mediad to end (SIGTERM), kills it after 20 s, and waits.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.log.Close()
}

// waitLive waits for a stream to be live with rungs.
func (s *server) waitLive(ctx context.Context, name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.base + "/api/v1/streams/" + name)
		if err == nil {
			var in struct {
				Live  bool
				Rungs []json.RawMessage
			}
			_ = json.NewDecoder(resp.Body).Decode(&in)
			resp.Body.Close()
			if in.Live && len(in.Rungs) > 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return fmt.Errorf("mediad exited: %v", s.err)
		case <-time.After(500 * time.Millisecond):
		}
	}
	return fmt.Errorf("stream %q not live in %v", name, timeout)
}

// publisher is an ffmpeg CLI publishing a test pattern and a tone over
// RTMP, restarted whenever it exits until stop.
type publisher struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startPublisher(o options, srv *server, name string) *publisher {
	ctx, cancel := context.WithCancel(context.Background())
	p := &publisher{cancel: cancel}
	args := []string{"-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=" + o.size + ":rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "64k", "-f", "flv", srv.rtmp + "/" + name + "?token=" + publishToken}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for first := true; ; first = false {
			if !first {
				srv.restarts.Add(1)
				fmt.Fprintf(os.Stderr, "soak: publisher %s exited; restarting\n", name)
			}
			cmd := exec.CommandContext(ctx, o.ffmpeg, args...)
			cmd.Stdout, cmd.Stderr = srv.log, srv.log
			_ = cmd.Run()
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}()
	return p
}

func (p *publisher) stop() {
	p.cancel()
	p.wg.Wait()
}
