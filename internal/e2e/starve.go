package e2e

import (
	"sync"
	"testing"
	"time"
)

// Starvation thresholds: a window is starved when the probe woke this late
// at least once, or the viewer decoded under this share of the frame rate
// while it was not frozen, or over its inverse: frames that came late and
// then in a burst were held up on a starved machine (the -re publisher or
// the pipeline fell behind and caught up), not lost.
const (
	starvedLate  = 150 * time.Millisecond
	starvedShare = 0.85
)

// CPUWatch tells whether the machine gave a test enough CPU over a window.
// A goroutine sleeps 20 ms at a time and records how late it wakes. A
// browser's freeze count means something about the server only when the
// machine kept up: on a starved machine (a busy 2-core CI runner) Chromium
// itself misses frame deadlines. Freezes are asserted in windows that were
// not starved and logged as a figure in those that were.
type CPUWatch struct {
	mu   sync.Mutex
	late []lateWake // wakes later than starvedLate/3, oldest first, bounded

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

type lateWake struct {
	at   time.Time
	late time.Duration
}

// WatchCPU starts a watch that ends with the test, or at Stop.
func WatchCPU(t testing.TB) *CPUWatch {
	w := &CPUWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	t.Cleanup(w.Stop)
	return w
}

// Stop ends the watch's goroutine and waits for it.
func (w *CPUWatch) Stop() {
	w.stopOnce.Do(func() { close(w.stop) })
	<-w.done
}

func (w *CPUWatch) run() {
	defer close(w.done)
	const step = 20 * time.Millisecond
	tm := time.NewTimer(step)
	defer tm.Stop()
	for {
		start := time.Now()
		tm.Reset(step)
		select {
		case <-w.stop:
			return
		case now := <-tm.C:
			if late := now.Sub(start) - step; late > starvedLate/3 {
				w.mu.Lock()
				if len(w.late) >= 1024 {
					w.late = w.late[1:]
				}
				w.late = append(w.late, lateWake{now, late})
				w.mu.Unlock()
			}
		}
	}
}

// worstSince returns the latest wake since t.
func (w *CPUWatch) worstSince(t time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var worst time.Duration
	for _, l := range w.late {
		if !l.at.Before(t) && l.late > worst {
			worst = l.late
		}
	}
	return worst
}

// Window is a stretch of a viewer's playback whose freezes are checked.
type Window struct {
	w    *CPUWatch
	tab  *Tab
	at   time.Time
	from videoIn
}

// videoIn is the player's inbound video as Chromium's getStats tells it.
type videoIn struct {
	FramesDecoded        int     `json:"framesDecoded"`
	FreezeCount          int     `json:"freezeCount"`
	TotalFreezesDuration float64 `json:"totalFreezesDuration"`
}

func (tb *Tab) videoIn() (videoIn, error) {
	var v videoIn
	err := tb.Eval(`(async () => {
		const pc = window.mediad && window.mediad.pc;
		if (!pc) return {};
		for (const s of (await pc.getStats()).values()) {
			if (s.type === 'inbound-rtp' && s.kind === 'video') return s;
		}
		return {};
	})()`, &v)
	return v, err
}

// Begin starts a window for tab's player (window.mediad.pc) now.
func (w *CPUWatch) Begin(tab *Tab) (Window, error) {
	v, err := tab.videoIn()
	return Window{w: w, tab: tab, at: time.Now(), from: v}, err
}

// CheckFreezes reads tab's stats and fails the test when the player froze
// since Begin while the machine kept up with fps (the rate the viewer's
// rung plays at) outside the freezes; when the machine was starved it logs
// the freezes and why they are not asserted. It returns the freezes counted
// in the window.
func (win Window) CheckFreezes(t testing.TB, what string, fps float64) int {
	t.Helper()
	to, err := win.tab.videoIn()
	if err != nil {
		t.Errorf("%s: stats: %v", what, err)
		return 0
	}
	from := win.from
	if to.FramesDecoded < from.FramesDecoded {
		from = videoIn{} // the player made a new PeerConnection
	}
	freezes := to.FreezeCount - from.FreezeCount
	frozen := to.TotalFreezesDuration - from.TotalFreezesDuration
	secs := time.Since(win.at).Seconds()
	rate := float64(to.FramesDecoded-from.FramesDecoded) / max(secs-frozen, 0.001)
	late := win.w.worstSince(win.at)
	t.Logf("%s: %d freezes (%.2f s) in %.1f s, %.1f fps decoded outside them of %.0f; the test's timer woke at worst %v late",
		what, freezes, frozen, secs, rate, fps, late.Round(time.Millisecond))
	switch {
	case freezes == 0:
	case late >= starvedLate || rate < starvedShare*fps || rate > fps/starvedShare:
		t.Logf("%s: the machine was starved (timer late %v, or a decode rate outside %.0f%%-%.0f%% of the frame rate): freezes not asserted",
			what, late.Round(time.Millisecond), 100*starvedShare, 100/starvedShare)
	default:
		t.Errorf("%s: %d freezes while the machine kept up", what, freezes)
	}
	return freezes
}
