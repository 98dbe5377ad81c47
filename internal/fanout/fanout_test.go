package fanout

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestParsePIDStat(t *testing.T) {
	tests := []struct {
		name, in string
		want     uint64
		err      bool
	}{
		{"plain", "4242 (mediad) S 1 4242 4242 0 -1 4194560 9000 0 0 0 1234 567 0 0 20 0 30 0 100 0\n", 1801, false},
		// The command name may hold spaces and parentheses: count from the last ')'.
		{"odd name", "7 (a) b (c)) R 1 7 7 0 -1 0 0 0 0 0 10 20 0 0 20 0 1 0 5 0", 30, false},
		{"no paren", "7 mediad S 1 7 7 0 -1 0 0 0 0 0 10 20", 0, true},
		{"short", "7 (mediad) S 1 7 7", 0, true},
		{"not a number", "7 (m) S 1 7 7 0 -1 0 0 0 0 0 x 20 0", 0, true},
	}
	for _, tc := range tests {
		got, err := ParsePIDStat([]byte(tc.in))
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("%s: ParsePIDStat = %d, %v; want %d, error %v", tc.name, got, err, tc.want, tc.err)
		}
		if err != nil && !errors.Is(err, ErrProcFormat) {
			t.Errorf("%s: error %v is not ErrProcFormat", tc.name, err)
		}
	}
}

func TestParseMachineStat(t *testing.T) {
	tests := []struct {
		name, in string
		want     MachineCPU
		err      bool
	}{
		// user nice system idle iowait irq softirq steal guest guest_nice:
		// guest time is already in user, so it is left out of the total.
		{"full", "cpu  100 5 50 800 20 3 2 0 40 0\ncpu0 1 2 3 4 5 6 7 8\n", MachineCPU{Idle: 820, Total: 980}, false},
		{"old kernel", "cpu 10 0 10 80 0\n", MachineCPU{Idle: 80, Total: 100}, false},
		{"per-cpu first", "cpu0 1 2 3 4 5\n", MachineCPU{}, true},
		{"garbage", "cpu 1 2 x 4 5\n", MachineCPU{}, true},
	}
	for _, tc := range tests {
		got, err := ParseMachineStat([]byte(tc.in))
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("%s: ParseMachineStat = %+v, %v; want %+v, error %v", tc.name, got, err, tc.want, tc.err)
		}
	}
	if s := IdleShare(MachineCPU{Idle: 100, Total: 200}, MachineCPU{Idle: 130, Total: 400}); math.Abs(s-0.15) > 1e-9 {
		t.Errorf("IdleShare = %v, want 0.15", s)
	}
	if s := IdleShare(MachineCPU{Total: 5}, MachineCPU{Total: 5}); s != 0 {
		t.Errorf("IdleShare over no time = %v, want 0", s)
	}
}

// TestCompute: the per-viewer arithmetic, from ticks and counts to the
// figures printed.
func TestCompute(t *testing.T) {
	w := Window{
		Server: "s", Viewers: 4, Refused: 1, Duration: 20 * time.Second,
		ServerTicks: 400,  // 4 s of CPU in 20 s = 200 ms/s
		IdleTicksPS: 2,    // 20 ms/s idle
		ToolTicks:   1000, // 10 s in 20 s = 50% of a core
		Machine0:    MachineCPU{Idle: 0, Total: 0},
		Machine1:    MachineCPU{Idle: 200, Total: 4000},
		Counts: []ViewerCount{
			{Packets: 2000, Bytes: 2_500_000, Padded: 20},
			{Packets: 2600, Bytes: 2_500_000},
			{Packets: 0, Bytes: 0}, // got a session, never played
		},
	}
	r := w.Compute()
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("ServerCPUMsPerS", r.ServerCPUMsPerS, 200)
	near("IdleCPUMsPerS", r.IdleCPUMsPerS, 20)
	// Per viewer with a session (3), not per viewer asked for (4).
	near("CPUMsPerViewerS", r.CPUMsPerViewerS, 200/3.0)
	near("MarginalMsPerViewerS", r.MarginalMsPerViewerS, 180/3.0)
	near("PktsPerSMean", r.PktsPerSMean, (100+130+0)/3.0)
	near("PktsPerSMin", r.PktsPerSMin, 0)
	near("KbpsMean", r.KbpsMean, (1000+1000+0)/3.0)
	near("KbpsMin", r.KbpsMin, 0)
	near("PaddedPerSMean", r.PaddedPerSMean, 1/3.0)
	near("ToolCPUPct", r.ToolCPUPct, 50)
	near("MachineIdlePct", r.MachineIdlePct, 5)
	near("ServerPerToolCPU", r.ServerPerToolCPU, 0.4)
	if r.Connected != 2 || r.Refused != 1 || r.Viewers != 4 {
		t.Errorf("connected %d refused %d viewers %d, want 2 1 4", r.Connected, r.Refused, r.Viewers)
	}
	if !r.Saturated {
		t.Error("5% machine idle not flagged saturated")
	}
	w.Machine1.Idle = 2000
	if w.Compute().Saturated {
		t.Error("50% machine idle flagged saturated")
	}
	if r.PublisherRestarts != 0 || strings.Contains(r.String(), "PUBLISHER") {
		t.Errorf("a window with no publisher restart flagged: %s", r)
	}
	w.PublisherRestarts = 1
	if r := w.Compute(); r.PublisherRestarts != 1 || !strings.Contains(r.String(), "PUBLISHER RESTARTED") {
		t.Errorf("a window with a publisher restart not flagged: %s", r)
	}
	if rec := r.CSVRecord(); len(rec) != len(CSVHeader) {
		t.Errorf("CSV record has %d fields, header %d", len(rec), len(CSVHeader))
	}
}

// TestCurve: one colour per server, a dot at every step.
func TestCurve(t *testing.T) {
	res := []Result{
		{Server: "a", Viewers: 20, CPUMsPerViewerS: 4},
		{Server: "a", Viewers: 100, CPUMsPerViewerS: 2},
		{Server: "b", Viewers: 20, CPUMsPerViewerS: 2},
		{Server: "b", Viewers: 100, CPUMsPerViewerS: 1},
	}
	img := Curve(res)
	count := func(c [3]uint8) int {
		n := 0
		for i := 0; i < len(img.Pix); i += 4 {
			if img.Pix[i] == c[0] && img.Pix[i+1] == c[1] && img.Pix[i+2] == c[2] {
				n++
			}
		}
		return n
	}
	for i := range 2 {
		c := seriesColors[i]
		if n := count([3]uint8{c.R, c.G, c.B}); n < 2*49 {
			t.Errorf("series %d: %d pixels of its colour, want two dots at least", i, n)
		}
	}
	if n := count([3]uint8{seriesColors[2].R, seriesColors[2].G, seriesColors[2].B}); n != 0 {
		t.Errorf("a third colour drawn for two servers: %d pixels", n)
	}
}

// TestMedianAndPair: the median round is a real round (the lower middle
// for an even count); the per-round ratios pair round i of A with round
// i of B and leave out rounds where either had no figure.
func TestMedianAndPair(t *testing.T) {
	mk := func(server string, v ...float64) []Result {
		var rs []Result
		for i, x := range v {
			rs = append(rs, Result{Server: server, Viewers: 100, CPUMsPerViewerS: x, KbpsMin: float64(i)})
		}
		return rs
	}
	if m := Median(mk("a", 3, 1, 2)); m.CPUMsPerViewerS != 2 || m.KbpsMin != 2 || m.Rounds != 3 {
		t.Errorf("median of 3 1 2: %+v, want the round with 2 (its own KbpsMin 2), Rounds 3", m)
	}
	if m := Median(mk("a", 4, 1, 3, 2)); m.CPUMsPerViewerS != 2 || m.Rounds != 4 {
		t.Errorf("median of 4 1 3 2: %v, want the lower middle 2", m.CPUMsPerViewerS)
	}
	if m := Median(nil); m.Rounds != 0 || m.Server != "" {
		t.Errorf("median of nothing: %+v", m)
	}
	p := NewPair(mk("a", 1, 2, 0.9, 1), mk("b", 2, 2, 3, 0))
	if len(p.Ratios) != 3 || p.Ratios[0] != 0.5 || p.Ratios[1] != 1 || p.Ratios[2] != 0.3 {
		t.Fatalf("ratios %v, want [0.5 1 0.3] (the round with b at 0 left out)", p.Ratios)
	}
	if got := p.MedianRatio(); got != 0.5 {
		t.Errorf("median ratio %v, want 0.5", got)
	}
	if p.A != "a" || p.B != "b" || p.Viewers != 100 {
		t.Errorf("pair names %q %q viewers %d", p.A, p.B, p.Viewers)
	}
	// Medians: a's rounds 1 2 0.9 1 -> 1; b's 2 2 3 0 -> 2.
	if got := p.RatioOfMedians(); got != 0.5 {
		t.Errorf("ratio of medians %v, want 0.5", got)
	}
	if got := NewPair(mk("a", 1, 2), mk("b", 2, 4, 6)).MedianRatio(); got != 0.5 {
		t.Errorf("even median ratio %v, want 0.5 (mean of the middle two)", got)
	}
	if got := NewPair(nil, nil).MedianRatio(); !math.IsNaN(got) {
		t.Errorf("no rounds: median ratio %v, want NaN", got)
	}
	if rec := p.CSVRecord(); len(rec) != len(PairCSVHeader) || !strings.Contains(p.String(), "0.50x") {
		t.Errorf("CSV %v against header %v; line %s", rec, PairCSVHeader, p)
	}
}
