package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mutstream/mutstream/internal/fanout"
)

const (
	streamName   = "bench"
	publishToken = "fanout-publish"
	adminToken   = "fanout-admin"
)

// server is one media server process under test and its publisher.
type server struct {
	name    string
	dir     string // its config and log; removed after the run
	cmd     *exec.Cmd
	whep    string // the URL viewers post to
	rtmp    string // the URL the publisher pushes to
	pprof   string // http://ADDR of mediad's --pprof, or ""
	log     *os.File
	done    chan struct{}
	err     error
	pubStop context.CancelFunc
	pubWG   sync.WaitGroup
	// restarts counts publisher exits other than stop's.
	restarts atomic.Int64
}

func freePort(network string) (int, error) {
	if network == "udp" {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func freePorts() (hp, rp, up, pp int, err error) {
	for _, p := range []*int{&hp, &rp, &pp} {
		if *p, err = freePort("tcp"); err != nil {
			return
		}
	}
	up, err = freePort("udp")
	return
}

// startMediad writes a bench config into dir: the server as a user runs
// it (source rung on, default ladder and adaptation), without the demo
// stream, with the join rate limit and max_viewers out of the way.
// With pprof it also listens for profiles (--pprof, a mediad of this tree).
func startMediad(bin, dir, rung string, pprof bool) (*server, error) {
	hp, rp, up, pp, err := freePorts()
	if err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`# Written by cmd/fanout: mediad as a user runs it, N viewers let in.
demo: {enabled: false}
webrtc:
  udp_addr: 127.0.0.1
  max_viewers: 0
  rate_limit:
    viewers: {per_second: 1000, burst: 1000}
auth: {publish_token: %s, admin_token: %s}
log: {level: warn}
`, publishToken, adminToken)
	path := filepath.Join(dir, "mediad.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	s := &server{
		name:  "mediad",
		whep:  fmt.Sprintf("http://127.0.0.1:%d/whep/%s", hp, streamName),
		rtmp:  fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s?token=%s", rp, streamName, publishToken),
		pprof: fmt.Sprintf("http://127.0.0.1:%d", pp),
	}
	if rung != "" {
		s.whep += "?rung=" + rung
	}
	args := []string{"serve", "--config", path,
		"--http", fmt.Sprintf("127.0.0.1:%d", hp), "--rtmp", fmt.Sprintf("127.0.0.1:%d", rp),
		"--webrtc-udp", strconv.Itoa(up)}
	if pprof {
		args = append(args, "--pprof", fmt.Sprintf("127.0.0.1:%d", pp))
	} else {
		s.pprof = ""
	}
	return s, s.start(dir, bin, args...)
}

// startMediaMTX writes a minimal MediaMTX config into dir: RTMP and WebRTC
// on loopback, everything else off, any path accepted.
func startMediaMTX(bin, dir string) (*server, error) {
	hp, rp, up, _, err := freePorts()
	if err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`# Written by cmd/fanout.
logLevel: warn
api: false
metrics: false
pprof: false
playback: false
rtsp: false
hls: false
srt: false
rtmp: true
rtmpAddress: 127.0.0.1:%d
webrtc: true
webrtcAddress: 127.0.0.1:%d
webrtcLocalUDPAddress: 127.0.0.1:%d
webrtcLocalTCPAddress: ""
webrtcIPsFromInterfaces: false
webrtcAdditionalHosts: [127.0.0.1]
paths:
  all_others:
`, rp, hp, up)
	path := filepath.Join(dir, "mediamtx.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	s := &server{
		name: "mediamtx",
		whep: fmt.Sprintf("http://127.0.0.1:%d/%s/whep", hp, streamName),
		rtmp: fmt.Sprintf("rtmp://127.0.0.1:%d/%s", rp, streamName),
	}
	return s, s.start(dir, bin, path)
}

func (s *server) start(dir, bin string, args ...string) error {
	logf, err := os.Create(filepath.Join(dir, s.name+".log"))
	if err != nil {
		return err
	}
	s.log, s.done = logf, make(chan struct{})
	if abs, err := filepath.Abs(bin); err == nil && strings.ContainsRune(bin, filepath.Separator) {
		bin = abs
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	return nil
}

// publish runs the scenario with the ffmpeg CLI until stop: a
// 640x360 30 fps test pattern, libx264 at 1 Mb/s with no B-frames, video
// only, over RTMP; restarted if it exits.
func (s *server) publish(ffmpeg string) {
	ctx, cancel := context.WithCancel(context.Background())
	s.pubStop = cancel
	args := []string{"-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
		"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
		"-bf", "0", "-g", "60", "-b:v", "1M", "-maxrate", "1M", "-bufsize", "500k",
		"-an", "-f", "flv", s.rtmp}
	s.pubWG.Add(1)
	go func() {
		defer s.pubWG.Done()
		for {
			cmd := exec.CommandContext(ctx, ffmpeg, args...)
			cmd.Stdout, cmd.Stderr = s.log, s.log
			err := cmd.Run()
			select {
			case <-ctx.Done():
				return
			default:
			}
			// A publisher gone mid-window spoils that window's figures.
			s.restarts.Add(1)
			fmt.Fprintf(os.Stderr, "fanout: %s publisher exited (%v); restarting in 1 s\n", s.name, err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}()
}

// waitListening waits until the server answers HTTP on its WHEP address
// (any status), so that the publisher's first try finds it.
func (s *server) waitListening(ctx context.Context, timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); {
		if resp, err := client.Get(s.whep); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("%s exited: %v (see %s)", s.name, s.err, s.log.Name())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s: no HTTP answer at %s in %v (see %s)", s.name, s.whep, timeout, s.log.Name())
}

// waitPlayable waits until a viewer gets media from the server.
func (s *server) waitPlayable(ctx context.Context, timeout time.Duration) error {
	api, err := fanout.NewAPI()
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("%s exited: %v (see %s)", s.name, s.err, s.log.Name())
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		v, err := fanout.DialViewer(ctx, api, client, s.whep)
		if err == nil {
			for end := time.Now().Add(5 * time.Second); time.Now().Before(end) && v.Count().Packets == 0; {
				time.Sleep(100 * time.Millisecond)
			}
			ok := v.Count().Packets > 0
			v.Close()
			if ok {
				return nil
			}
			err = fmt.Errorf("a viewer got no media in 5 s")
		}
		last = err
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("%s: stream not playable in %v: %v (see %s)", s.name, timeout, last, s.log.Name())
}

// stop ends the publisher, then the server (SIGTERM, killed after 20 s).
func (s *server) stop() {
	if s.pubStop != nil {
		s.pubStop()
		s.pubWG.Wait()
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.log.Close()
}
