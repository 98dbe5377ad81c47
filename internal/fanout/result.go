package fanout

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// SaturatedIdle is the machine's idle share under which a measurement is
// flagged: the server, the load tool and the rest were short of CPU, so
// the figure says as much about the machine as about the server.
const SaturatedIdle = 0.10

// ViewerCount is what one viewer received during the window.
type ViewerCount struct {
	Packets int64 // video and audio RTP packets
	Bytes   int64 // their size as read (RTP header and payload)
	Padded  int64 // packets with the RTP padding bit (probes)
}

// Window is one measurement: N viewers asked for, the counts of each one
// that got a session, and the CPU ticks over Duration.
type Window struct {
	Server      string
	Viewers     int           // asked for
	Refused     int           // whose WHEP POST failed
	Duration    time.Duration // of the window
	ServerTicks uint64        // the server's utime+stime over the window
	IdleTicksPS float64       // the server's ticks per second with the stream published and no viewer
	ToolTicks   uint64        // this tool's utime+stime over the window
	Machine0    MachineCPU
	Machine1    MachineCPU
	Counts      []ViewerCount // one per viewer with a session
	// PublisherRestarts is how often the publisher went and came back
	// during the window: its figures are then not the fan-out's.
	PublisherRestarts int
}

// Result is a Window in the units people read.
type Result struct {
	Server               string
	Viewers, Connected   int // asked for; received media in the window
	Refused              int
	WindowS              float64
	ServerCPUMsPerS      float64 // ms of CPU per second of wall time
	IdleCPUMsPerS        float64 // the same with no viewer
	CPUMsPerViewerS      float64 // ServerCPUMsPerS / Viewers
	MarginalMsPerViewerS float64 // (ServerCPUMsPerS - IdleCPUMsPerS) / Viewers
	PktsPerSMean         float64
	PktsPerSMin          float64
	KbpsMean, KbpsMin    float64
	PaddedPerSMean       float64
	ToolCPUPct           float64 // of one core
	MachineIdlePct       float64
	Saturated            bool
	PublisherRestarts    int
	// ServerPerToolCPU is the server's CPU over the load tool's in the
	// window. The tool's work per viewer is about the same for any server
	// sending the same stream, and a busy machine slows both alike, so
	// this ratio moves less with the machine's load than the ms figures.
	ServerPerToolCPU float64
	// Rounds is how many windows this figure is the median of (1: one).
	Rounds int
}

// Compute turns w into per-viewer figures. A viewer that got a session and
// received nothing counts in the minimums; a refused one in Refused only.
// The per-viewer CPU divides by the viewers with a session (those the
// server serves), so refusals never make it look cheaper.
func (w Window) Compute() Result {
	s := w.Duration.Seconds()
	r := Result{Server: w.Server, Viewers: w.Viewers, Refused: w.Refused, WindowS: s, PublisherRestarts: w.PublisherRestarts}
	if s <= 0 {
		return r
	}
	msPerTick := 1000.0 / ClockTicks
	r.ServerCPUMsPerS = float64(w.ServerTicks) * msPerTick / s
	r.IdleCPUMsPerS = w.IdleTicksPS * msPerTick
	if n := len(w.Counts); n > 0 {
		r.CPUMsPerViewerS = r.ServerCPUMsPerS / float64(n)
		r.MarginalMsPerViewerS = (r.ServerCPUMsPerS - r.IdleCPUMsPerS) / float64(n)
	}
	r.ToolCPUPct = float64(w.ToolTicks) * msPerTick / s / 10
	r.MachineIdlePct = 100 * IdleShare(w.Machine0, w.Machine1)
	if w.ToolTicks > 0 {
		r.ServerPerToolCPU = float64(w.ServerTicks) / float64(w.ToolTicks)
	}
	r.Saturated = IdleShare(w.Machine0, w.Machine1) < SaturatedIdle
	if len(w.Counts) == 0 {
		return r
	}
	r.PktsPerSMin, r.KbpsMin = math.Inf(1), math.Inf(1)
	for _, c := range w.Counts {
		p := float64(c.Packets) / s
		k := float64(c.Bytes) * 8 / 1000 / s
		r.PktsPerSMean += p
		r.KbpsMean += k
		r.PaddedPerSMean += float64(c.Padded) / s
		r.PktsPerSMin = min(r.PktsPerSMin, p)
		r.KbpsMin = min(r.KbpsMin, k)
		if c.Packets > 0 {
			r.Connected++
		}
	}
	n := float64(len(w.Counts))
	r.PktsPerSMean /= n
	r.KbpsMean /= n
	r.PaddedPerSMean /= n
	return r
}

// String is the one line printed per N.
func (r Result) String() string {
	sat := ""
	if r.Saturated {
		sat = "  SATURATED (machine idle under 10%: figures inflated)"
	}
	if r.PublisherRestarts > 0 {
		sat += fmt.Sprintf("  PUBLISHER RESTARTED %dx in the window: discard", r.PublisherRestarts)
	}
	return fmt.Sprintf("%-8s n=%-4d connected=%-4d refused=%-3d cpu/viewer-s=%6.2f ms  marginal=%6.2f ms  server=%7.1f ms/s (idle %5.1f)  pkt/s mean=%5.1f min=%5.1f  kb/s mean=%6.0f min=%6.0f  padded/s=%4.1f  tool=%3.0f%% (server/tool %.1f)  machine idle=%2.0f%%%s",
		r.Server, r.Viewers, r.Connected, r.Refused, r.CPUMsPerViewerS, r.MarginalMsPerViewerS,
		r.ServerCPUMsPerS, r.IdleCPUMsPerS, r.PktsPerSMean, r.PktsPerSMin, r.KbpsMean, r.KbpsMin,
		r.PaddedPerSMean, r.ToolCPUPct, r.ServerPerToolCPU, r.MachineIdlePct, sat)
}

// CSVHeader names the columns of CSVRecord.
var CSVHeader = []string{"server", "viewers", "connected", "refused", "window_s",
	"server_cpu_ms_per_s", "idle_cpu_ms_per_s", "cpu_ms_per_viewer_s", "marginal_ms_per_viewer_s",
	"pkts_per_s_mean", "pkts_per_s_min", "kbps_mean", "kbps_min", "padded_per_s_mean",
	"tool_cpu_pct", "machine_idle_pct", "saturated", "publisher_restarts", "server_per_tool_cpu", "rounds"}

// CSVRecord is r as CSV fields, in CSVHeader's order.
func (r Result) CSVRecord() []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	return []string{r.Server, strconv.Itoa(r.Viewers), strconv.Itoa(r.Connected), strconv.Itoa(r.Refused), f(r.WindowS),
		f(r.ServerCPUMsPerS), f(r.IdleCPUMsPerS), f(r.CPUMsPerViewerS), f(r.MarginalMsPerViewerS),
		f(r.PktsPerSMean), f(r.PktsPerSMin), f(r.KbpsMean), f(r.KbpsMin), f(r.PaddedPerSMean),
		f(r.ToolCPUPct), f(r.MachineIdlePct), strconv.FormatBool(r.Saturated), strconv.Itoa(r.PublisherRestarts), f(r.ServerPerToolCPU), strconv.Itoa(max(r.Rounds, 1))}
}
