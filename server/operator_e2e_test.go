package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mutstream/mutstream/internal/e2e"
)

// TestOperatorPanel drives the watch page's operator panel in Chromium as
// an operator would: without the token Apply is refused and nothing
// changes; with it, quick-added ops and an edited chain come into force
// (the API's GET says so), a bad op is pointed at by index and field, and
// Clear empties the chain, all while the video keeps playing. A second
// viewer on the automatic rung, which starts on the source rung, is moved
// to a transcoded rung when the chain comes into force (the source is not
// mutated), without a freeze. Freezes are asserted only where the machine
// kept up (e2e.CPUWatch); every wait is for a state.
func TestOperatorPanel(t *testing.T) {
	cpu := e2e.WatchCPU(t)
	srv, browser, tab := watchPattern(t, "panel")
	// begin starts a freeze window on the 360p viewer.
	begin := func() e2e.Window {
		t.Helper()
		w, err := cpu.Begin(tab)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	eval := func(js string) string {
		t.Helper()
		var out string
		if err := tab.Eval(js, &out); err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return out
	}
	// waitResult waits for the panel's result line to contain want.
	waitResult := func(want string) string {
		t.Helper()
		var got string
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if got = eval(`document.getElementById('op-result').innerText`); strings.Contains(got, want) {
				return got
			}
		}
		t.Fatalf("result line %q, want it to contain %q", got, want)
		return ""
	}
	inForce := func() []string {
		t.Helper()
		resp, err := http.Get(srv.url("/api/v1/streams/panel/mutations"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st struct{ Chain []struct{ Op string } }
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
		var ops []string
		for _, o := range st.Chain {
			ops = append(ops, o.Op)
		}
		return ops
	}
	setToken := func(tok string) {
		eval(`(() => { const i = document.getElementById('op-token'); i.value = ` + jsString(tok) + `; i.dispatchEvent(new Event('input')); return ''; })()`)
	}
	click := func(sel string) {
		eval(`(() => { document.querySelector(` + jsString(sel) + `).click(); return ''; })()`)
	}
	// clearChain does what an operator does to empty the chain: the
	// first click on Clear only arms it ("Clear? click again"), and the
	// chain stays in force until the second.
	clearChain := func() {
		before := inForce()
		click(`#op-clear`)
		if armed := eval(`document.getElementById('op-clear').dataset.armed || ''`); armed != "1" {
			t.Fatalf("one click on Clear did not ask for a confirmation (armed %q)", armed)
		}
		if ops := inForce(); strings.Join(ops, ",") != strings.Join(before, ",") {
			t.Fatalf("one click on Clear changed the chain: %v, was %v", ops, before)
		}
		click(`#op-clear`)
	}
	auto := browser.Open(t, srv.url("/watch/panel"))
	rungOf := func() string {
		var r string
		_ = auto.Eval(`window.mediad.rung || ''`, &r)
		return r
	}
	if _, err := auto.WaitStats(30*time.Second, func(s e2e.PlayerStats) bool { return s.FramesDecoded > 30 && rungOf() == "source" }); err != nil {
		t.Fatalf("the automatic viewer is not on the source rung (%q): %v", rungOf(), err)
	}
	autoWin, err := cpu.Begin(auto)
	if err != nil {
		t.Fatal(err)
	}
	if hidden := eval(`String(document.getElementById('operator').hidden)`); hidden != "false" {
		t.Fatalf("?operator=1 left the panel hidden (%s)", hidden)
	}
	waitResult("Loaded")

	setToken("not-the-token")
	click(`#op-quick button[data-op="color"]`)
	click(`#op-apply`)
	waitResult("HTTP 401")
	if ops := inForce(); len(ops) != 0 {
		t.Fatalf("a refused Apply changed the chain: %v", ops)
	}

	applyWin := begin()
	setToken(testAdmin)
	click(`#op-quick button[data-op="pixelate"]`)
	click(`#op-apply`)
	got := waitResult("Applied")
	if ops := inForce(); strings.Join(ops, ",") != "color,pixelate" {
		t.Fatalf("after Apply the chain in force is %v, want color,pixelate (%s)", ops, got)
	}

	moved, err := auto.WaitStats(30*time.Second, func(s e2e.PlayerStats) bool { return rungOf() != "source" && rungOf() != "" })
	if err != nil {
		t.Fatalf("the automatic viewer stayed on the unmutated source: %v", err)
	}
	// While the chain is in force the automatic viewer never goes back to
	// the unmutated source rung (which leaves the ladder a moment after
	// the chain comes into force): watched for 90 frames.
	var rungs []string
	if after, err := auto.WaitStats(30*time.Second, func(s e2e.PlayerStats) bool {
		if r := rungOf(); len(rungs) == 0 || rungs[len(rungs)-1] != r {
			rungs = append(rungs, r)
		}
		return s.FramesDecoded > moved.FramesDecoded+90
	}); err != nil {
		t.Errorf("the automatic viewer after moving to %s: %+v, %v; want it playing", rungOf(), after, err)
	}
	if slices.Contains(rungs, "source") {
		t.Errorf("with a chain in force the automatic viewer went back to the unmutated source rung: rungs %v", rungs)
	}
	autoWin.CheckFreezes(t, "the automatic viewer, moved to "+strings.Join(rungs, " then "), 30)
	applyWin.CheckFreezes(t, "the 360p viewer through Apply", 30)

	// An edited op out of range: the panel names the op and the field.
	eval(`(() => { const c = document.getElementById('op-chain'); c.value = '[{"op":"color"},{"op":"blur","rect":[0.9,0,0.5,0.5]}]'; c.dispatchEvent(new Event('input')); return ''; })()`)
	click(`#op-apply`)
	waitResult("op 1 (blur)")
	if field := eval(`document.querySelector('#op-result [data-field]')?.dataset.field || ''`); field != "rect" {
		t.Errorf("the error marks field %q, want rect", field)
	}
	if ops := inForce(); strings.Join(ops, ",") != "color,pixelate" {
		t.Fatalf("a refused chain changed the chain in force: %v", ops)
	}

	clearWin := begin()
	beforeClear, _ := tab.Stats()
	clearChain()
	waitResult("Cleared")
	if ops := inForce(); len(ops) != 0 {
		t.Fatalf("after Clear the chain in force is %v", ops)
	}
	if _, err := tab.WaitStats(30*time.Second, func(s e2e.PlayerStats) bool { return s.FramesDecoded > beforeClear.FramesDecoded+30 }); err != nil {
		t.Errorf("playback after Clear: %v", err)
	}
	clearWin.CheckFreezes(t, "the 360p viewer through Clear", 30)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
