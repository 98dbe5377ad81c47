package gpu

import "math"

// The stamp code: a wall-clock time as a row of black and white blocks, the
// same code as web/assets/stampcode.js, which the watch page's latency
// meter (?measure=1, web/assets/latency.js) reads and the publisher page's
// clock test source (web/assets/clock.js) draws.
//
// Code: StampBlocks blocks, 1 = white, 0 = black, left to right:
//
//	[0]      start guard, always 1
//	[1..41]  the time stamp (ms since the Unix epoch), 41 bits, MSB first
//	[42]     parity: the data bits plus this bit hold an odd number of 1s
//	[43]     stop guard, always 0
//
// 41 bits hold times until 2039-09-07.
const (
	// StampBlocks is the number of blocks in a code.
	StampBlocks = 44
	// StampDataBits is the number of bits of the time stamp.
	StampDataBits = 41
	// MaxStamp is the largest time stamp a code holds, in ms.
	MaxStamp = 1<<StampDataBits - 1
)

// Stamp is one code: StampBlocks bits, each 0 or 1.
type Stamp [StampBlocks]byte

// EncodeStamp returns the code of a time stamp in ms since the epoch, and
// false when ms is outside 0..MaxStamp.
func EncodeStamp(ms int64) (Stamp, bool) {
	var s Stamp
	if ms < 0 || ms > MaxStamp {
		return s, false
	}
	s[0] = 1
	ones := 0
	for i := range StampDataBits {
		b := byte(ms>>(StampDataBits-1-i)) & 1
		s[1+i] = b
		ones += int(b)
	}
	if ones%2 == 0 {
		s[StampDataBits+1] = 1
	}
	s[StampBlocks-1] = 0
	return s, true
}

// DecodeStamp returns the time stamp in ms that a code carries, and false
// when it is not a valid code (a bit other than 0 or 1, a wrong guard, or
// wrong parity).
func DecodeStamp(s Stamp) (int64, bool) {
	for _, b := range s {
		if b > 1 {
			return 0, false
		}
	}
	if s[0] != 1 || s[StampBlocks-1] != 0 {
		return 0, false
	}
	var ms int64
	ones := 0
	for i := 1; i <= StampDataBits; i++ {
		ms = ms<<1 | int64(s[i])
		ones += int(s[i])
	}
	if (ones+int(s[StampDataBits+1]))%2 != 1 {
		return 0, false
	}
	return ms, true
}

// StampGeometry is where the code lies in a frame, as stampcode.js's
// codeGeometry computes it: a mid-grey band over the top sixth of the
// frame; blocks Width/48 wide starting two blocks from the left edge,
// covering the middle 60 % of the band's height. All in pixels, as
// fractions.
type StampGeometry struct {
	Band   float64 // height of the grey band: height/6
	BW     float64 // block width: width/48
	X0     float64 // left edge of block 0: 2*BW
	Y0, BH float64 // top and height of the blocks: 0.2*Band and 0.6*Band
}

// NewStampGeometry returns the geometry for a width x height frame.
func NewStampGeometry(width, height int) StampGeometry {
	band := float64(height) / 6
	bw := float64(width) / 48
	return StampGeometry{Band: band, BW: bw, X0: 2 * bw, Y0: band * 0.2, BH: band * 0.6}
}

// BlockEdge is the left pixel edge of block i (i = StampBlocks gives the
// right edge of the last block), rounded as clock.js rounds it.
func (g StampGeometry) BlockEdge(i int) int { return jsRound(g.X0 + float64(i)*g.BW) }

// BlockRows returns the first and last+1 pixel rows of the blocks, rounded
// as clock.js rounds them.
func (g StampGeometry) BlockRows() (top, bottom int) {
	return jsRound(g.Y0), jsRound(g.Y0 + g.BH)
}

// jsRound rounds as JavaScript's Math.round: halves toward +infinity.
func jsRound(v float64) int { return int(math.Floor(v + 0.5)) }

// Luma levels of the code in limited range: white, black and the band's
// mid grey (RGBToYUV of #ffffff, #000000 and #808080).
const (
	StampWhite = 235
	StampBlack = 16
	StampGrey  = 126
)

// stampMargin is how far from mid grey (on 0..255, full range) a block's
// mean must be to count as black or white, as in latency.js.
const stampMargin = 40

// ReadStamp reads the code from a limited-range luma plane of a
// width x height picture, as latency.js does from the page's video: the
// mean of the middle half of each block, converted to full range, must be
// at least stampMargin from 128; then the bits are decoded. It returns
// false where there is no valid code.
func ReadStamp(y []byte, stride, width, height int) (int64, bool) {
	g := NewStampGeometry(width, height)
	halfW := math.Max(0.5, g.BW/4)
	halfH := math.Max(0.5, g.BH/4)
	cy := g.Y0 + g.BH/2
	y0 := max(0, jsRound(cy-halfH))
	y1 := min(height-1, jsRound(cy+halfH))
	var s Stamp
	for i := range StampBlocks {
		cx := g.X0 + (float64(i)+0.5)*g.BW
		x0 := max(0, jsRound(cx-halfW))
		x1 := min(width-1, jsRound(cx+halfW))
		sum, n := 0, 0
		for r := y0; r <= y1; r++ {
			if r*stride+x1 >= len(y) {
				return 0, false
			}
			for c := x0; c <= x1; c++ {
				sum += int(y[r*stride+c])
				n++
			}
		}
		if n == 0 {
			return 0, false
		}
		grey := (float64(sum)/float64(n) - 16) * 255 / 219
		if math.Abs(grey-128) < stampMargin {
			return 0, false
		}
		if grey > 128 {
			s[i] = 1
		}
	}
	return DecodeStamp(s)
}
