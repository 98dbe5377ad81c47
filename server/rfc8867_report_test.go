package server

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/color"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/mutstream/mutstream/internal/plot"
	"github.com/mutstream/mutstream/signaling"
)

// pollAt returns the last poll at or before t (the zero poll if none).
func (r *rfc8867Run) pollAt(t time.Duration) rfc8867Poll {
	var p rfc8867Poll
	for _, q := range r.polls {
		if q.t > t {
			break
		}
		p = q
	}
	return p
}

// phaseEnd is when phase i ended.
func (r *rfc8867Run) phaseEnd(i int) time.Duration {
	if i+1 < len(r.changes) {
		return r.changes[i+1]
	}
	return r.end
}

// rungChanges are the switches of rung (not of frame-rate cap or audio
// only) from a to b.
func (r *rfc8867Run) rungChanges(a, b time.Duration) []signaling.Switch {
	var out []signaling.Switch
	for _, s := range r.switches {
		if at := secs(s.T); at >= a && at < b && s.From != s.To {
			out = append(out, s)
		}
	}
	return out
}

func secs(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// freezes counts the player's freezes that ended from a to b: how many,
// the longest and the total.
func (r *rfc8867Run) freezes(a, b time.Duration) (n int, longest, total time.Duration) {
	var prev *rfc8867Poll
	for i := range r.polls {
		p := &r.polls[i]
		if prev != nil && p.t >= a && p.t < b && p.FC > prev.FC {
			d := secs(p.FD - prev.FD)
			n += p.FC - prev.FC
			total += d
			if p.FC-prev.FC == 1 && d > longest {
				longest = d
			}
		}
		if p.F > 0 {
			prev = p
		}
	}
	return n, longest, total
}

// mediaRate is the received media rate (video + audio payload) from a to b.
func (r *rfc8867Run) mediaRate(a, b time.Duration) float64 {
	p, q := r.pollAt(a), r.pollAt(b)
	if q.t <= p.t {
		return 0
	}
	return float64((q.VB+q.AB)-(p.VB+p.AB)) * 8 / (q.t - p.t).Seconds()
}

// framesIn is how many frames the player decoded from a to b.
func (r *rfc8867Run) framesIn(a, b time.Duration) int { return r.pollAt(b).F - r.pollAt(a).F }

// figure prints one reported figure.
func figure(format string, args ...any) {
	fmt.Printf("FIGURE rfc8867 "+format+"\n", args...)
}

// report prints the figures and leaves the metrics for the outer run.
func (r *rfc8867Run) report(b *testing.B) {
	metrics := map[string]float64{}
	for _, s := range r.switches {
		fmt.Printf("rfc8867: %5.1f s: switch %s -> %s (%s)\n", s.T, s.From, s.To, s.Reason)
	}
	figure("first frame %.1f s after the page opened", r.first.Seconds())
	var downs, ups []float64
	var useSum float64
	for i := range r.changes {
		ph := rfc8867Phases[i]
		a, e := r.changes[i], r.phaseEnd(i)
		name := fmt.Sprintf("phase %d (%.0f-%.0f s, %d kb/s)", i+1, a.Seconds(), e.Seconds(), ph.bps/1000)
		if i > 0 {
			prev := rfc8867Phases[i-1].bps
			dir := "down"
			if ph.bps > prev {
				dir = "up"
			}
			rung := "no rung change"
			same := ""
			if cs := r.rungChanges(a, e); len(cs) > 0 {
				if w := r.widths[cs[0].From]; w == r.widths[cs[0].To] {
					same = fmt.Sprintf(" (%s and %s are both %d wide)", cs[0].From, cs[0].To, w)
				}
				d := secs(cs[0].T) - a
				rung = fmt.Sprintf("first rung change %.1f s (%s -> %s, %s)", d.Seconds(), cs[0].From, cs[0].To, cs[0].Reason)
				if i < rfc8867TracePhases {
					if dir == "down" {
						downs = append(downs, d.Seconds())
					} else {
						ups = append(ups, d.Seconds())
					}
				}
			}
			w0 := 0
			for _, p := range r.polls {
				if p.t <= a && p.W > 0 {
					w0 = p.W
				}
			}
			width := fmt.Sprintf("frameWidth %d unchanged%s", w0, same)
			for _, p := range r.polls {
				if p.t > a && p.t < e && p.W > 0 && p.W != w0 {
					width = fmt.Sprintf("first frameWidth change %.1f s (%d -> %d)", (p.t - a).Seconds(), w0, p.W)
					break
				}
			}
			figure("%s, step %s from %d kb/s: %s; %s", name, dir, prev/1000, rung, width)
		}
		n, longest, total := r.freezes(a, e)
		figure("%s: freezes %d, longest %.0f ms, %.0f ms in all", name, n, ms(longest), ms(total))
		steady := max(a, e-10*time.Second)
		rate := r.mediaRate(steady, e)
		use := rate / float64(ph.bps)
		last := "?"
		for _, row := range r.rows {
			if row.t < e && row.viewer {
				last = row.sample.Rung
				if row.sample.AudioOnly {
					last = "audio only"
				}
			}
		}
		// Settled: the last switch of the phase (of rung, frame-rate cap
		// or audio only), when it ends on its best rung.
		settled := "not on it at the end"
		if last == ph.best {
			at := time.Duration(0)
			for _, s := range r.switches {
				if t := secs(s.T); t >= a && t < e {
					at = t - a
				}
			}
			settled = fmt.Sprintf("there from %.1f s into the phase", at.Seconds())
		}
		figure("%s: link use when steady (last 10 s) %.0f %% (%.0f kb/s received); on %s at the end; best %s, %s",
			name, use*100, rate/1000, last, ph.best, settled)
		if i < rfc8867TracePhases {
			useSum += use
			metrics[fmt.Sprintf("%%-use-phase%d", i+1)] = use * 100
		}
	}
	traceEnd := r.phaseEnd(rfc8867TracePhases - 1)
	nTrace := len(r.rungChanges(0, traceEnd))
	nAll := len(r.rungChanges(0, r.end))
	figure("switches of rung: %d in the trace's %.0f s (%.1f per minute), %d in the whole %.0f s (%.1f per minute)",
		nTrace, traceEnd.Seconds(), float64(nTrace)/traceEnd.Minutes(), nAll, r.end.Seconds(), float64(nAll)/r.end.Minutes())
	metrics["switches/min"] = float64(nTrace) / traceEnd.Minutes()
	n, longest, total := r.freezes(0, traceEnd)
	figure("trace freezes: %d, longest %.0f ms, %.0f ms in all", n, ms(longest), ms(total))
	metrics["ms-freezes-trace"] = ms(total)
	if len(downs) > 0 {
		metrics["s-first-step-down"] = mean(downs)
	}
	if len(ups) > 0 {
		metrics["s-first-step-up"] = mean(ups)
	}

	// The thin stretch and the return.
	thin, back := rfc8867TracePhases, rfc8867TracePhases+1
	if thin < len(r.changes) {
		a, e := r.changes[thin], r.phaseEnd(thin)
		capAt, audioAt := time.Duration(-1), time.Duration(-1)
		// The cap comes as a switch of its own (too-thin) or with a step
		// down (to the lowest rung, capped): the feed sent says which.
		for _, row := range r.rows {
			if row.t >= a && row.t < e && row.viewer && r.capped[row.sample.Rung] {
				capAt = row.t - a
				break
			}
		}
		for _, s := range r.switches {
			at := secs(s.T)
			if at < a || at >= e {
				continue
			}
			if s.Reason == "too-thin" && (capAt < 0 || at-a < capAt) {
				capAt = at - a
			}
			if s.Reason == "audio-only" && audioAt < 0 {
				audioAt = at - a
			}
		}
		// The player's view: no more than a frame a second over 2 s
		// (audio only sends a still every 2 s).
		stopAt := time.Duration(-1)
		for _, p := range r.polls {
			if p.t >= a+2*time.Second && p.t < e && r.framesIn(p.t-2*time.Second, p.t) <= 2 {
				stopAt = p.t - a
				break
			}
		}
		figure("thin stretch (%d kb/s): frame-rate cap %s, audio only %s (the server's decision); the player down to a still every 2 s %s",
			rfc8867Phases[thin].bps/1000, after(capAt), after(audioAt), after(stopAt))
		if audioAt >= 0 {
			metrics["s-to-audio-only"] = audioAt.Seconds()
		}
	}
	if back < len(r.changes) {
		a, e := r.changes[back], r.phaseEnd(back)
		videoAt := time.Duration(-1)
		audioOnly := false
		for _, s := range r.switches {
			at := secs(s.T)
			if at < a {
				audioOnly = s.Reason == "audio-only"
				continue
			}
			if at < e && videoAt < 0 {
				videoAt = at - a
			}
		}
		// The player's view: 10 frames in 2 s (a burst of what the queue
		// held when the link opened is fewer), from the window's start.
		playerAt := time.Duration(-1)
		for _, p := range r.polls {
			if p.t > a+2*time.Second && p.t < e && r.framesIn(p.t-2*time.Second, p.t) >= 10 {
				playerAt = p.t - 2*time.Second - a
				break
			}
		}
		was := "the video was not off"
		if audioOnly {
			was = "out of audio only"
		}
		figure("back at %d kb/s: first decision %s (%s); the player at 5+ frames a second (over 2 s) %s",
			rfc8867Phases[back].bps/1000, after(videoAt), was, after(playerAt))
		if playerAt >= 0 {
			metrics["s-video-back"] = playerAt.Seconds()
		}
	}
	if path := os.Getenv(rfc8867SummaryEnv); path != "" {
		data, _ := json.Marshal(metrics)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

func after(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return fmt.Sprintf("after %.1f s", d.Seconds())
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// writeCSV writes the rows.
func (r *rfc8867Run) writeCSV(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"t_s", "capacity_bps", "estimate_bps", "smoothed_bps", "rung", "rung_bps", "audio_only",
		"frame_width", "frames_decoded", "freeze_count", "freezes_s", "bytes_received", "media_bps"})
	for _, row := range r.rows {
		est, sm, rung, rb, ao := "", "", "", "", ""
		if row.viewer {
			s := row.sample
			est, sm, rung, rb, ao = strconv.Itoa(s.Estimate), strconv.Itoa(s.Smoothed), s.Rung, strconv.Itoa(s.Bitrate), strconv.FormatBool(s.AudioOnly)
		}
		p := row.poll
		_ = w.Write([]string{fmt.Sprintf("%.1f", row.t.Seconds()), strconv.Itoa(row.capacity), est, sm, rung, rb, ao,
			strconv.Itoa(p.W), strconv.Itoa(p.F), strconv.Itoa(p.FC), fmt.Sprintf("%.3f", p.FD),
			strconv.FormatInt(p.VB+p.AB, 10), strconv.Itoa(row.mediaBps)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// chart draws the run: capacity grey, the viewer's estimate light blue,
// received media rate green, smoothed estimate dark blue, the rung's
// bitrate red (0 while audio only); 0 to 4 Mb/s up with a grid every
// 0.5 Mb/s, a grid every 10 s across.
func (r *rfc8867Run) chart() plot.Chart {
	capacity := plot.Series{Color: color.RGBA{150, 150, 150, 255}}
	for i, at := range r.changes {
		capacity.Points = append(capacity.Points, plot.Point{T: at, V: float64(rfc8867Phases[i].bps)})
	}
	capacity.Points = append(capacity.Points, plot.Point{T: r.end, V: float64(rfc8867Phases[len(r.changes)-1].bps)})
	est := plot.Series{Color: color.RGBA{140, 190, 240, 255}}
	media := plot.Series{Color: color.RGBA{30, 160, 60, 255}}
	smooth := plot.Series{Color: color.RGBA{20, 60, 200, 255}}
	rung := plot.Series{Color: color.RGBA{220, 30, 30, 255}}
	for _, row := range r.rows {
		media.Points = append(media.Points, plot.Point{T: row.t, V: float64(row.mediaBps)})
		if !row.viewer {
			continue
		}
		s := row.sample
		est.Points = append(est.Points, plot.Point{T: row.t, V: float64(s.Estimate)})
		smooth.Points = append(smooth.Points, plot.Point{T: row.t, V: float64(s.Smoothed)})
		b := float64(s.Bitrate)
		if s.AudioOnly {
			b = 0
		}
		rung.Points = append(rung.Points, plot.Point{T: row.t, V: b})
	}
	return plot.Chart{
		W: 1140, H: 400, Margin: 20,
		Span: r.end, Max: 4_000_000,
		XGrid: 10 * time.Second, YGrid: 500_000,
		Series: []plot.Series{capacity, est, media, smooth, rung},
	}
}
