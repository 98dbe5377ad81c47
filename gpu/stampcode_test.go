package gpu

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// stampValues are time stamps the Go and JS codes are compared on.
var stampValues = []int64{0, 1, 2, 255, 1<<32 - 1, 1 << 32, 1 << 40, MaxStamp - 1, MaxStamp,
	1700000000000, 1700000000123, 1767225599999, 2082758399999}

func TestStampRoundTrip(t *testing.T) {
	vals := append([]int64{}, stampValues...)
	for i := range StampDataBits {
		vals = append(vals, 1<<i, 1<<i-1)
	}
	for _, v := range vals {
		s, ok := EncodeStamp(v)
		if !ok {
			t.Fatalf("EncodeStamp(%d) refused", v)
		}
		if s[0] != 1 || s[StampBlocks-1] != 0 {
			t.Errorf("%d: guards %d %d", v, s[0], s[StampBlocks-1])
		}
		if got, ok := DecodeStamp(s); !ok || got != v {
			t.Errorf("%d: decoded %d, %v", v, got, ok)
		}
		for i := range StampBlocks {
			bad := s
			bad[i] ^= 1
			if _, ok := DecodeStamp(bad); ok {
				t.Errorf("%d: flip of bit %d accepted", v, i)
			}
		}
	}
	for _, v := range []int64{-1, MaxStamp + 1} {
		if _, ok := EncodeStamp(v); ok {
			t.Errorf("EncodeStamp(%d) accepted", v)
		}
	}
	var s Stamp
	s[0], s[5] = 1, 2
	if _, ok := DecodeStamp(s); ok {
		t.Error("a bit of 2 accepted")
	}
}

// TestStampMatchesJS runs web/assets/stampcode.js in node and compares its
// codes and geometry with Go's.
func TestStampMatchesJS(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found: the Go and JS stamp codes are not compared")
	}
	js, err := filepath.Abs("../web/assets/stampcode.js")
	if err != nil {
		t.Fatal(err)
	}
	vals, _ := json.Marshal(stampValues)
	sizes := [][2]int{{1280, 720}, {640, 360}, {320, 180}, {1920, 1080}, {176, 144}, {854, 480}, {426, 240}}
	sz, _ := json.Marshal(sizes)
	path, _ := json.Marshal(js)
	script := `
import { readFileSync } from 'node:fs';
const src = readFileSync(` + string(path) + `, 'utf8');
const m = await import('data:text/javascript;base64,' + Buffer.from(src).toString('base64'));
const codes = ` + string(vals) + `.map((v) => m.encodeStamp(v).join(''));
const geo = ` + string(sz) + `.map(([w, h]) => {
  const g = m.codeGeometry(w, h);
  const edges = [];
  for (let i = 0; i <= m.BLOCKS; i++) edges.push(Math.round(g.x0 + i * g.bw));
  return { edges, top: Math.round(g.y0), bottom: Math.round(g.y0 + g.bh) };
});
console.log(JSON.stringify({ blocks: m.BLOCKS, bits: m.DATA_BITS, codes, geo }));
`
	cmd := exec.Command(node, "--input-type=module", "-e", script)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var got struct {
		Blocks, Bits int
		Codes        []string
		Geo          []struct {
			Edges       []int
			Top, Bottom int
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node output %q: %v", out, err)
	}
	if got.Blocks != StampBlocks || got.Bits != StampDataBits {
		t.Fatalf("JS has %d blocks, %d bits; Go %d, %d", got.Blocks, got.Bits, StampBlocks, StampDataBits)
	}
	for i, v := range stampValues {
		s, _ := EncodeStamp(v)
		var b strings.Builder
		for _, bit := range s {
			b.WriteString(strconv.Itoa(int(bit)))
		}
		if b.String() != got.Codes[i] {
			t.Errorf("%d: Go %s, JS %s", v, b.String(), got.Codes[i])
		}
	}
	for i, wh := range sizes {
		g := NewStampGeometry(wh[0], wh[1])
		for k, e := range got.Geo[i].Edges {
			if g.BlockEdge(k) != e {
				t.Errorf("%v: edge %d Go %d, JS %d", wh, k, g.BlockEdge(k), e)
			}
		}
		if top, bottom := g.BlockRows(); top != got.Geo[i].Top || bottom != got.Geo[i].Bottom {
			t.Errorf("%v: rows Go %d..%d, JS %d..%d", wh, top, bottom, got.Geo[i].Top, got.Geo[i].Bottom)
		}
	}
}

func TestReadStampDrawn(t *testing.T) {
	// Draw a code by hand with the geometry, as clock.js does, and read it.
	const w, h = 320, 180
	y := make([]byte, w*h)
	for i := range y {
		y[i] = StampGrey
	}
	g := NewStampGeometry(w, h)
	ms := time.Date(2031, 5, 6, 7, 8, 9, 10e6, time.UTC).UnixMilli()
	s, _ := EncodeStamp(ms)
	top, bottom := g.BlockRows()
	for i, b := range s {
		v := byte(StampBlack)
		if b == 1 {
			v = StampWhite
		}
		for r := top; r < bottom; r++ {
			for c := g.BlockEdge(i); c < g.BlockEdge(i+1); c++ {
				y[r*w+c] = v
			}
		}
	}
	if got, ok := ReadStamp(y, w, w, h); !ok || got != ms {
		t.Fatalf("read %d, %v; want %d", got, ok, ms)
	}
	// A grey band carries no code.
	for i := range y {
		y[i] = StampGrey
	}
	if _, ok := ReadStamp(y, w, w, h); ok {
		t.Fatal("a grey band read as a code")
	}
	if _, ok := ReadStamp(y[:w], w, w, h); ok {
		t.Fatal("a short plane read as a code")
	}
}
