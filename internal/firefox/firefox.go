// Package firefox drives Debian's Firefox ESR, headless, from Go tests:
// driver.mjs (puppeteer-core over WebDriver BiDi, installed here by
// `make test-deps`) runs the browser, and a Browser sends it one command
// at a time. Firefox as installed has no H.264 for WebRTC (that comes from
// the OpenH264 plugin, downloaded at run time): it offers VP8, VP9 and AV1.
package firefox

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mutstream/mutstream/internal/e2e"
)

// DefaultPath is where Debian installs Firefox ESR.
const DefaultPath = "/usr/bin/firefox-esr"

// dir is this package's folder: driver.mjs and node_modules.
func dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// Available says why Firefox cannot be driven here, or "" when it can.
func Available() string {
	if _, err := exec.LookPath("node"); err != nil {
		return "node not installed (make test-deps)"
	}
	if _, err := os.Stat(path()); err != nil {
		return path() + " not installed (make test-deps installs firefox-esr)"
	}
	if _, err := os.Stat(filepath.Join(dir(), "node_modules", "puppeteer-core")); err != nil {
		return "puppeteer-core not installed in internal/firefox (make test-deps runs npm ci there)"
	}
	return ""
}

func path() string {
	if p := os.Getenv("FIREFOX"); p != "" {
		return p
	}
	return DefaultPath
}

// Browser is one headless Firefox with its driver process.
type Browser struct {
	Version string

	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	mu     sync.Mutex // one command at a time
	waited chan struct{}
	stderr *lockedBuf
}

type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 1<<20 {
		l.b.Write(p)
	}
	return len(p), nil
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Start skips t when Firefox cannot be driven here, else starts it; it is
// closed when t ends.
func Start(t testing.TB) *Browser {
	t.Helper()
	if why := Available(); why != "" {
		t.Skip("Firefox: " + why)
	}
	b := &Browser{waited: make(chan struct{}), stderr: &lockedBuf{}}
	b.cmd = exec.Command("node", filepath.Join(dir(), "driver.mjs"))
	b.cmd.Env = append(os.Environ(), "FIREFOX="+path())
	b.cmd.Stderr = b.stderr
	var err error
	if b.in, err = b.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := b.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	b.out = bufio.NewReader(stdout)
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = b.cmd.Wait()
		close(b.waited)
	}()
	t.Cleanup(b.Close)
	var ready struct {
		Ready string `json:"ready"`
	}
	if err := b.read(&ready, 90*time.Second); err != nil || ready.Ready == "" {
		t.Fatalf("Firefox did not start: %v\n%s", err, b.stderr.String())
	}
	b.Version = ready.Ready
	return b
}

// read reads one answer line into v, within timeout (the process is killed
// past it: its pipes would otherwise block the test forever).
func (b *Browser) read(v any, timeout time.Duration) error {
	type result struct {
		line []byte
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := b.out.ReadBytes('\n')
		ch <- result{line, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return fmt.Errorf("driver: %w", r.err)
		}
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(r.line, &e) == nil && e.Error != "" {
			return errors.New(e.Error)
		}
		return json.Unmarshal(r.line, v)
	case <-time.After(timeout):
		_ = b.cmd.Process.Kill()
		<-ch
		return fmt.Errorf("driver gave no answer in %s", timeout)
	}
}

// do sends one command and reads its answer into v.
func (b *Browser) do(cmd map[string]any, v any) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	line, err := json.Marshal(cmd)
	if err != nil {
		return err
	}
	if _, err := b.in.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("driver: %w", err)
	}
	return b.read(v, 60*time.Second)
}

// Close ends the browser and its driver and waits for them.
func (b *Browser) Close() {
	_ = b.in.Close() // the driver closes the browser at end of input
	select {
	case <-b.waited:
	case <-time.After(20 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.waited
	}
}

// Log is what the driver and the pages wrote to stderr.
func (b *Browser) Log() string { return b.stderr.String() }

// Tab is one page.
type Tab struct {
	b  *Browser
	id int
}

// Open loads url in a new tab.
func (b *Browser) Open(t testing.TB, url string) *Tab {
	t.Helper()
	var r struct {
		Tab int `json:"tab"`
	}
	if err := b.do(map[string]any{"op": "open", "url": url}, &r); err != nil {
		t.Fatalf("Firefox open %s: %v\n%s", url, err, b.Log())
	}
	return &Tab{b: b, id: r.Tab}
}

// Close closes the tab.
func (tb *Tab) Close() { _ = tb.b.do(map[string]any{"op": "close", "tab": tb.id}, &struct{}{}) }

// Eval evaluates the expression js in the page (awaiting a promise) and
// decodes its JSON value into out.
func (tb *Tab) Eval(js string, out any) error {
	var r struct {
		Value json.RawMessage `json:"value"`
	}
	if err := tb.b.do(map[string]any{"op": "eval", "tab": tb.id, "js": js}, &r); err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(r.Value, out)
}

// Stats reads the watch page's latest player stats.
func (tb *Tab) Stats() (e2e.PlayerStats, error) {
	var s e2e.PlayerStats
	err := tb.Eval("(window.mediad && window.mediad.stats) || {}", &s)
	return s, err
}

// WaitStats polls the player's stats until ok accepts them or timeout passes.
func (tb *Tab) WaitStats(timeout time.Duration, ok func(e2e.PlayerStats) bool) (e2e.PlayerStats, error) {
	deadline := time.Now().Add(timeout)
	var last e2e.PlayerStats
	var lastErr error
	for time.Now().Before(deadline) {
		s, err := tb.Stats()
		lastErr = err
		if err == nil {
			last = s
			if ok(s) {
				return s, nil
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	return last, fmt.Errorf("condition not met in %s; last stats %+v (%v)", timeout, last, lastErr)
}
