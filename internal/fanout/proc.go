// Package fanout measures what a media server spends to fan one stream out
// to N WebRTC viewers: its CPU per viewer-second from /proc, and what each
// pion WHEP viewer received. cmd/fanout drives it; `make bench-fanout` runs it.
package fanout

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// ClockTicks is the kernel's USER_HZ (getconf CLK_TCK), the unit of the
// CPU times in /proc/PID/stat and /proc/stat. It is 100 on every Linux
// architecture Go supports.
const ClockTicks = 100

// ErrProcFormat is returned for /proc text that does not parse.
var ErrProcFormat = errors.New("fanout: unexpected /proc format")

// ParsePIDStat returns utime+stime, in clock ticks, from the text of
// /proc/PID/stat. The command name (field 2) may hold spaces and
// parentheses, so fields are counted from the last ')'.
func ParsePIDStat(b []byte) (uint64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("%w: no ')' in /proc/PID/stat", ErrProcFormat)
	}
	// After ')': state (field 3), ..., utime (14), stime (15).
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("%w: %d fields after the command name, want 13 or more", ErrProcFormat, len(f))
	}
	ut, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	st, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%w: utime %q stime %q", ErrProcFormat, f[11], f[12])
	}
	return ut + st, nil
}

// MachineCPU is the machine's CPU time from /proc/stat's "cpu" line, in
// clock ticks summed over all cores.
type MachineCPU struct {
	Idle  uint64 // idle + iowait
	Total uint64 // every field but guest time (already in user)
}

// ParseMachineStat reads the "cpu" line of /proc/stat: user nice system
// idle iowait irq softirq steal [guest guest_nice].
func ParseMachineStat(b []byte) (MachineCPU, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 5 || string(f[0]) != "cpu" {
		return MachineCPU{}, fmt.Errorf("%w: first line of /proc/stat is not the cpu total", ErrProcFormat)
	}
	var m MachineCPU
	for i, s := range f[1:min(len(f), 9)] {
		v, err := strconv.ParseUint(string(s), 10, 64)
		if err != nil {
			return MachineCPU{}, fmt.Errorf("%w: /proc/stat cpu field %d %q", ErrProcFormat, i+1, s)
		}
		m.Total += v
		if i == 3 || i == 4 {
			m.Idle += v
		}
	}
	return m, nil
}

// IdleShare is the share (0..1) of the machine idle from m0 to m1; 0 when
// no time passed.
func IdleShare(m0, m1 MachineCPU) float64 {
	if m1.Total <= m0.Total {
		return 0
	}
	return float64(m1.Idle-m0.Idle) / float64(m1.Total-m0.Total)
}

// ProcCPU returns the CPU ticks (user+system) that process pid has used;
// pid 0 is this process.
func ProcCPU(pid int) (uint64, error) {
	p := "/proc/self/stat"
	if pid > 0 {
		p = "/proc/" + strconv.Itoa(pid) + "/stat"
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, err
	}
	return ParsePIDStat(b)
}

// ReadMachineCPU reads /proc/stat.
func ReadMachineCPU() (MachineCPU, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return MachineCPU{}, err
	}
	return ParseMachineStat(b)
}
