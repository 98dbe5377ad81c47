package server

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mutstream/mutstream/internal/e2e"
	"github.com/mutstream/mutstream/internal/firefox"
)

// mediadProcess is one mediad binary run with the demo stream on: a fresh
// process, as a user starts it, where the in-process benchmarks share one
// Go runtime, its loaded libraries and warmed code among their servers.
type mediadProcess struct {
	url    string
	cmd    *exec.Cmd
	out    *e2e.Buffer
	exited chan struct{}
}

// buildMediadBinary builds cmd/mediad into a temporary folder.
func buildMediadBinary(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "mediad")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/mediad").CombinedOutput(); err != nil {
		tb.Fatalf("go build mediad: %v\n%s", err, out)
	}
	return bin
}

// startMediadProcess runs bin with the demo stream and no viewer rate
// limit, and returns once its HTTP answers.
func startMediadProcess(tb testing.TB, bin string) *mediadProcess {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cfg := filepath.Join(tb.TempDir(), "mediad.yml")
	yml := fmt.Sprintf(`http:
  addr: 127.0.0.1:%d
rtmp:
  addr: 127.0.0.1:0
webrtc:
  udp_addr: 127.0.0.1
  rate_limit:
    viewers: {per_second: 0}
demo:
  enabled: true
auth:
  publish_token: %s
  admin_token: %s
state_dir: %s
`, port, testToken, testAdmin, tb.TempDir())
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		tb.Fatal(err)
	}
	p := &mediadProcess{url: fmt.Sprintf("http://127.0.0.1:%d", port), out: &e2e.Buffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve", "--config", cfg, "--webrtc-udp", "0")
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	tb.Cleanup(p.stop)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case <-p.exited:
			tb.Fatalf("mediad exited at start:\n%s", p.out.String())
		default:
		}
		if res, err := http.Get(p.url + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("mediad did not answer in 60s:\n%s", p.out.String())
		}
	}
}

// stop ends the process (SIGTERM, then SIGKILL past 20s) and waits for it.
func (p *mediadProcess) stop() {
	if p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// firstViewerDTLSProcess is firstViewerDTLSIn over fresh mediad
// processes: the first viewer's page opens as soon as the process
// answers and POSTs until the demo is live; the second follows.
func firstViewerDTLSProcess(b *testing.B, bin string, open func(tb testing.TB, url string) evalTab, codec string) {
	var first, second []float64
	for i := 0; i < benchServers(); i++ {
		p := startMediadProcess(b, bin)
		for j, into := range []*[]float64{&first, &second} {
			tab := open(b, p.url+"/healthz")
			defer tab.Close()
			var d pageDTLS
			js := strings.NewReplacer("NAME", "demo", "CODEC", codec).Replace(dtlsJS)
			if err := tab.Eval(js, &d); err != nil {
				b.Fatalf("process %d viewer %d: %v\n%s", i+1, j+1, err, p.out.String())
			}
			if codec != "" && !strings.EqualFold(d.Codec, codec) {
				b.Fatalf("process %d viewer %d answered with %q, want %s", i+1, j+1, d.Codec, codec)
			}
			*into = append(*into, d.DTLS)
			b.Logf("process %d viewer %d (%s): answer -> ICE connected %.1f ms, ICE connected -> DTLS connected %.1f ms; %v", i+1, j+1, d.Codec, d.ICE, d.DTLS, d.Events)
		}
		p.stop()
		if os.Getenv("MEDIAD_BENCH_LOG") != "" {
			b.Logf("process %d log:\n%s", i+1, p.out.String())
		}
	}
	reportDTLS(b, first, second)
}

// BenchmarkFirstViewerDTLSProcess is the first viewer's handshake after a
// fresh mediad process starts (the case of issue 15), with one browser
// kept for all processes: Firefox ESR as installed (VP8), Chromium
// offering VP8 only, and Chromium offering everything (H.264).
func BenchmarkFirstViewerDTLSProcess(b *testing.B) {
	bin := buildMediadBinary(b)
	b.Run("firefox/vp8", func(b *testing.B) {
		ff := firefox.Start(b)
		b.Logf("browser %s", ff.Version)
		firstViewerDTLSProcess(b, bin, func(tb testing.TB, url string) evalTab { return ff.Open(tb, url) }, "")
	})
	for _, codec := range []string{"vp8", "h264"} {
		b.Run("chromium/"+codec, func(b *testing.B) {
			e2e.ChromiumPath(b)
			browser := e2e.NewBrowser(b)
			want := codec
			if codec == "h264" {
				want = "" // everything Chromium has: the server picks H.264
			}
			firstViewerDTLSProcess(b, bin, func(tb testing.TB, url string) evalTab { return browser.Open(tb, url) }, want)
		})
	}
}
