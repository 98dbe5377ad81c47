package adapt

// smoother turns GCC's raw estimate into the one the controller decides on:
// clamped, taking a drop at once when it persists or is confirmed, rising
// by EWMA.
type smoother struct {
	value  float64 // smoothed estimate, bps; 0 = unknown
	raw    int     // latest clamped raw estimate; 0 = unknown
	run    int     // consecutive updates with raw below value
	runMax int     // highest raw during the run
}

// observe takes one raw estimate (0 = unknown: nothing changes); confirmed
// says congestion signals back a drop, which is then taken at once.
func (m *smoother) observe(est int, confirmed bool, cfg *Config) {
	if est <= 0 {
		return
	}
	r := min(max(est, cfg.MinEstimate), cfg.MaxEstimate)
	m.raw = r
	v := float64(r)
	if m.value == 0 {
		m.value = v
		return
	}
	if v >= m.value {
		m.run = 0
		m.value += cfg.RiseAlpha * (v - m.value)
		return
	}
	m.run++
	if m.run == 1 || r > m.runMax {
		m.runMax = r
	}
	switch {
	case confirmed || m.run > cfg.DropConfirm:
		// A confirmed drop, or a run already taken: follow at once.
		m.value = v
		m.run = max(m.run, cfg.DropConfirm+1)
	case m.run == cfg.DropConfirm:
		// The drop persisted: take the highest value of the run.
		m.value = float64(m.runMax)
	}
}

// smoothed returns the smoothed estimate in bps, 0 when unknown.
func (m *smoother) smoothed() int { return int(m.value) }
