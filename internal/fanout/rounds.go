package fanout

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Median is the round of rs whose CPU per viewer-second is the median
// (the lower of the middle two for an even count), so that every figure
// in it comes from one real window; its Rounds says how many there were.
// It returns the zero Result for no round.
func Median(rs []Result) Result {
	if len(rs) == 0 {
		return Result{}
	}
	s := slices.Clone(rs)
	slices.SortStableFunc(s, func(a, b Result) int { return cmp.Compare(a.CPUMsPerViewerS, b.CPUMsPerViewerS) })
	m := s[(len(s)-1)/2]
	m.Rounds = len(rs)
	return m
}

// Pair is two servers measured at one N in alternating rounds: round i
// of A and round i of B ran back to back, so each round's ratio sees the
// machine at about one speed.
type Pair struct {
	A, B    string
	Viewers int
	Ratios  []float64 // A's CPU per viewer-second over B's, per round
	// MedianA and MedianB are each server's median round.
	MedianA, MedianB Result
}

// NewPair pairs a's and b's rounds at one N, in the order they ran.
// Rounds where either server had no viewer with a session are left out
// of the ratios.
func NewPair(a, b []Result) Pair {
	p := Pair{MedianA: Median(a), MedianB: Median(b)}
	p.A, p.B, p.Viewers = p.MedianA.Server, p.MedianB.Server, p.MedianA.Viewers
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i].CPUMsPerViewerS > 0 && b[i].CPUMsPerViewerS > 0 {
			p.Ratios = append(p.Ratios, a[i].CPUMsPerViewerS/b[i].CPUMsPerViewerS)
		}
	}
	return p
}

// MedianRatio is the median of the per-round ratios (the mean of the
// middle two for an even count); NaN with none.
func (p Pair) MedianRatio() float64 {
	if len(p.Ratios) == 0 {
		return math.NaN()
	}
	s := slices.Clone(p.Ratios)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// RatioOfMedians is A's median round over B's; NaN if B's is zero.
func (p Pair) RatioOfMedians() float64 {
	if p.MedianB.CPUMsPerViewerS <= 0 {
		return math.NaN()
	}
	return p.MedianA.CPUMsPerViewerS / p.MedianB.CPUMsPerViewerS
}

// String is the summary line printed per N.
func (p Pair) String() string {
	rs := ""
	for i, r := range p.Ratios {
		if i > 0 {
			rs += " "
		}
		rs += fmt.Sprintf("%.2f", r)
	}
	return fmt.Sprintf("%s/%s n=%-4d median round ratio=%.2fx [%s]  medians %.2f / %.2f ms = %.2fx",
		p.A, p.B, p.Viewers, p.MedianRatio(), rs, p.MedianA.CPUMsPerViewerS, p.MedianB.CPUMsPerViewerS, p.RatioOfMedians())
}

// PairCSVHeader names the columns of Pair.CSVRecord.
var PairCSVHeader = []string{"a", "b", "viewers", "rounds", "median_round_ratio", "min_round_ratio", "max_round_ratio",
	"a_median_ms_per_viewer_s", "b_median_ms_per_viewer_s", "ratio_of_medians"}

// CSVRecord is p as CSV fields, in PairCSVHeader's order.
func (p Pair) CSVRecord() []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	lo, hi := math.NaN(), math.NaN()
	if len(p.Ratios) > 0 {
		lo, hi = slices.Min(p.Ratios), slices.Max(p.Ratios)
	}
	return []string{p.A, p.B, strconv.Itoa(p.Viewers), strconv.Itoa(len(p.Ratios)), f(p.MedianRatio()), f(lo), f(hi),
		f(p.MedianA.CPUMsPerViewerS), f(p.MedianB.CPUMsPerViewerS), f(p.RatioOfMedians())}
}
