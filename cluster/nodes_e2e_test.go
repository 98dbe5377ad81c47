package cluster_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mutstream/mutstream/internal/e2e"
)

const (
	testPublish = "cluster-publish-token-1234"
	testCluster = "cluster-node-token-0123456789"
)

// buildMediad builds the mediad binary into a temporary folder.
func buildMediad(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mediad")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/mediad")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build mediad: %v\n%s", err, out)
	}
	return bin
}

// mediadNode is one mediad process of a test cluster.
type mediadNode struct {
	t        testing.TB
	id       string
	bin      string
	cfg      string
	httpPort int
	rtmpPort int
	cmd      *exec.Cmd
	out      *e2e.Buffer
	exited   chan struct{}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// newNode writes a node's config: a one-rung ladder, no demo, a long
// publisher grace (viewers of an edge wait through an origin's change).
func newNode(t testing.TB, bin, id, redisURL, role string) *mediadNode {
	return newNodeLadder(t, bin, id, redisURL, role, "    - {name: 240p, width: 426, height: 240, fps: 24, bitrate: 500000}\n")
}

// newNodeLadder is newNode with the given transcode.ladder items.
func newNodeLadder(t testing.TB, bin, id, redisURL, role, ladder string) *mediadNode {
	n := &mediadNode{t: t, id: id, bin: bin, httpPort: freePort(t), rtmpPort: freePort(t)}
	n.cfg = filepath.Join(t.TempDir(), id+".yml")
	yml := fmt.Sprintf(`http:
  addr: 127.0.0.1:%d
rtmp:
  addr: 127.0.0.1:%d
webrtc:
  udp_addr: 127.0.0.1
demo:
  enabled: false
ingest:
  grace: 20s
transcode:
  ladder:
%s  low_fps_rung: false
auth:
  publish_token: %s
  admin_token: cluster-admin-token-5678
cluster:
  redis: %s
  node_id: %s
  advertise_url: http://127.0.0.1:%d
  role: %s
  token: %s
`, n.httpPort, n.rtmpPort, ladder, testPublish, redisURL, id, n.httpPort, role, testCluster)
	if err := os.WriteFile(n.cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	n.start()
	t.Cleanup(n.kill)
	return n
}

func (n *mediadNode) url() string { return fmt.Sprintf("http://127.0.0.1:%d", n.httpPort) }

func (n *mediadNode) rtmpURL(name string) string {
	return fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s?token=%s", n.rtmpPort, name, testPublish)
}

// start runs the process and waits for /healthz.
func (n *mediadNode) start() {
	t := n.t
	t.Helper()
	n.out = &e2e.Buffer{}
	n.cmd = exec.Command(n.bin, "serve", "--config", n.cfg, "--webrtc-udp", "0")
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start node %s: %v", n.id, err)
	}
	n.exited = make(chan struct{})
	cmd, exited := n.cmd, n.exited
	go func() { _ = cmd.Wait(); close(exited) }()
	waitUntil(t, "node "+n.id+" to answer", 60*time.Second, func() bool {
		select {
		case <-exited:
			t.Fatalf("node %s exited at start:\n%s", n.id, n.out.String())
		default:
		}
		res, err := http.Get(n.url() + "/healthz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
}

// kill ends the process at once (SIGKILL: no goodbye to Redis or peers).
func (n *mediadNode) kill() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.exited
	n.cmd = nil
}

// get returns a GET's status and body.
func get(url string) (int, string) {
	res, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func waitUntil(t testing.TB, what string, d time.Duration, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > d {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// metric returns the lines of a node's /metrics that start with name.
func metric(n *mediadNode, name string) string {
	_, body := get(n.url() + "/metrics")
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, name) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// pulls sums n's mediad_edge_pulls values for stream (every stream when
// empty); a gauge that is absent counts 0.
func pulls(t *testing.T, n *mediadNode, stream string) float64 {
	t.Helper()
	var sum float64
	for _, l := range strings.Split(metric(n, "mediad_edge_pulls{"), "\n") {
		if l == "" || (stream != "" && !strings.Contains(l, `stream="`+stream+`"`)) {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("a mediad_edge_pulls line that does not parse: %q", l)
		}
		sum += v
	}
	return sum
}

// playerState is what the test reads of the watch page's player.
type playerState struct {
	State  string `json:"state"`
	Base   string `json:"base"`
	Frames int    `json:"frames"`
	Width  int    `json:"width"`
}

func readPlayer(tab *e2e.Tab) playerState {
	var p playerState
	_ = tab.Eval(`(() => { const m = window.mediad; if (!m) return {}; return {state: m.state, base: m.player.base, frames: (m.stats && m.stats.framesDecoded) || 0, width: (m.stats && m.stats.width) || 0}; })()`, &p)
	return p
}

// framesGrow waits until the player decodes n more frames than now on
// the connection it has when it starts to count (a new connection's
// count starts at zero).
func framesGrow(t *testing.T, tab *e2e.Tab, what string, n int, d time.Duration) (playerState, time.Duration) {
	t.Helper()
	base := readPlayer(tab)
	var last playerState
	start := time.Now()
	for {
		last = readPlayer(tab)
		if last.Base != base.Base || last.Frames < base.Frames {
			base = playerState{Base: last.Base, Frames: 0}
		}
		if last.State == "playing" && last.Frames >= base.Frames+n {
			return last, time.Since(start)
		}
		if time.Since(start) > d {
			var detail string
			_ = tab.Eval(`window.mediad ? window.mediad.player.detail + " nodes=" + JSON.stringify(window.mediad.player.nodes) : ""`, &detail)
			t.Fatalf("timed out after %s waiting for %s: player %+v (%s)", d, what, last, detail)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// framesGrowOff is framesGrow on a connection to another base than
// from: the player's stats, read a while apart, may still show frames
// that the old connection decoded before its node died.
func framesGrowOff(t *testing.T, tab *e2e.Tab, what, from string, n int, d time.Duration) playerState {
	t.Helper()
	start := time.Now()
	for {
		st, _ := framesGrow(t, tab, what, n, d-time.Since(start))
		if st.Base != from {
			return st
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func dumpOnFailure(t testing.TB, nodes ...*mediadNode) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, n := range nodes {
			out := n.out.String()
			if len(out) > 20000 {
				out = out[len(out)-20000:]
			}
			t.Logf("node %s log tail:\n%s", n.id, out)
		}
	})
}
