package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mutstream/mutstream/config"
	"github.com/mutstream/mutstream/internal/e2e"
	"github.com/mutstream/mutstream/stream"
)

const testViewer = "e2e-viewer"

// waitLiveWithToken is waitLive for a server whose API may need the viewer
// token.
func waitLiveWithToken(t *testing.T, srv *Server, name string, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		req, _ := http.NewRequest(http.MethodGet, srv.url("/api/v1/streams/"+name), nil)
		req.Header.Set("Authorization", "Bearer "+testViewer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			continue
		}
		var in stream.Info
		_ = json.NewDecoder(resp.Body).Decode(&in)
		resp.Body.Close()
		if in.Live && len(in.Rungs) > 0 {
			return
		}
	}
	t.Fatalf("stream %q not live within %s", name, timeout)
}

// TestViewerTokenPlayer plays a stream that needs a viewer token in
// Chromium, under the pages' Content-Security-Policy. With the token in the
// page URL the player plays, the token leaves the address bar for
// sessionStorage, the stream info and the operator panel's event stream
// load with it, and nothing breaks the policy. Without it the player stops
// at "unauthorized" and shows the token form; a wrong token is refused the
// same way, and the right one typed in plays. The dashboard, given the
// token in its URL, shows the viewers.
func TestViewerTokenPlayer(t *testing.T) {
	e2e.FFmpegPath(t)
	e2e.ChromiumPath(t)
	srv := startWith(t, func(cfg *config.Config) { cfg.WebRTC.ViewerToken = testViewer })
	pub := e2e.PublishTestPattern(t, srv.rtmpURL("vauth", testToken), "640x360", 30, 0)
	t.Cleanup(pub.Stop)
	waitLiveWithToken(t, srv, "vauth", 20*time.Second)
	browser := e2e.NewBrowser(t)

	evalIn := func(tab *e2e.Tab, js string, out any) {
		t.Helper()
		if err := tab.Eval(js, out); err != nil {
			t.Fatalf("%s: %v", js, err)
		}
	}
	waitFor := func(tab *e2e.Tab, what, js string) {
		t.Helper()
		var got string
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			var ok bool
			if err := tab.Eval(js, &ok); err == nil && ok {
				return
			}
		}
		_ = tab.Eval(`document.getElementById('status')?.textContent || ''`, &got)
		t.Fatalf("%s: not within 30 s (status %q)", what, got)
	}
	// CSP violations from here on are kept in window.cspViolations.
	const watchCSP = `(() => { window.cspViolations = []; document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI)); return true; })()`

	// With the token in the URL.
	tab := browser.Open(t, srv.url("/watch/vauth?rung=360p&token="+testViewer))
	var ok bool
	evalIn(tab, watchCSP, &ok)
	if _, err := tab.WaitStats(30*time.Second, func(s e2e.PlayerStats) bool { return s.FramesDecoded > 30 }); err != nil {
		t.Fatalf("with the viewer token in its URL the player does not play: %v", err)
	}
	var href, stored, bg string
	evalIn(tab, `location.href`, &href)
	evalIn(tab, `sessionStorage.getItem('mediad.viewerToken')`, &stored)
	if strings.Contains(href, "token") || stored != testViewer {
		t.Errorf("address bar %q and stored token %q; want the token moved from the one to the other", href, stored)
	}
	evalIn(tab, `getComputedStyle(document.body).backgroundColor`, &bg)
	if bg != "rgb(15, 17, 21)" {
		t.Errorf("the style sheet is not applied under the CSP: body background %q", bg)
	}
	waitFor(tab, "the stream info with the token", `/640×360/.test(document.getElementById('source').textContent)`)
	evalIn(tab, `(() => { document.getElementById('operator-toggle').click(); return true; })()`, &ok)
	waitFor(tab, "the operator panel's event stream with the token", `document.getElementById('op-events-state').dataset.state === 'playing'`)
	waitFor(tab, "the operator panel's chain with the token", `/Loaded/.test(document.getElementById('op-result').innerText)`)

	// Without a token: no play, a token form; a wrong token is refused too.
	bare := browser.Open(t, srv.url("/watch/vauth?rung=360p"))
	waitFor(bare, "the tokenless player stops at unauthorized", `window.mediad.state === 'unauthorized' && !document.getElementById('token-form').hidden`)
	submit := func(tok string) {
		evalIn(bare, `(() => { const f = document.getElementById('token-form'); f.querySelector('input[name=token]').value = `+jsString(tok)+`; f.requestSubmit(); return true; })()`, &ok)
	}
	submit("not-the-token")
	waitFor(bare, "a wrong token is refused", `window.mediad.state === 'unauthorized' && /refused/.test(window.mediad.player.detail) && !document.getElementById('token-form').hidden`)
	if s, err := bare.Stats(); err != nil || s.FramesDecoded > 0 {
		t.Fatalf("without the right token the player decoded frames: %+v, %v", s, err)
	}
	submit(testViewer)
	if _, err := bare.WaitStats(30*time.Second, func(s e2e.PlayerStats) bool { return s.FramesDecoded > 30 }); err != nil {
		t.Fatalf("after the right token was typed in, the player does not play: %v", err)
	}
	evalIn(bare, `document.getElementById('token-form').hidden`, &ok)
	if !ok {
		t.Errorf("the token form stays shown while playing")
	}

	// The dashboard with the token in its URL.
	dash := browser.Open(t, srv.url("/dashboard?stream=vauth&token="+testViewer))
	evalIn(dash, watchCSP, &ok)
	waitFor(dash, "the dashboard shows the viewers", `window.mediadDashboard.viewers.length >= 2 && document.querySelectorAll('canvas').length >= 2`)
	evalIn(dash, `location.href`, &href)
	if strings.Contains(href, "token") {
		t.Errorf("the dashboard's address bar keeps the token: %q", href)
	}

	for name, tb := range map[string]*e2e.Tab{"watch": tab, "dashboard": dash} {
		var v []string
		evalIn(tb, `window.cspViolations`, &v)
		if len(v) > 0 {
			t.Errorf("the %s page broke its Content-Security-Policy: %v", name, v)
		}
	}
}
