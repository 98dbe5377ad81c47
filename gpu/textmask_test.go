package gpu

import (
	"bytes"
	"testing"
	"time"
)

// coverage sums a mask's samples and returns the columns that hold any.
func coverage(m *TextMask) (sum, x0, x1 int) {
	x0, x1 = m.MaxW, 0
	for y := range m.H {
		for x := range m.MaxW {
			if v := m.At(x, y); v > 0 {
				sum += int(v)
				x0, x1 = min(x0, x), max(x1, x+1)
			}
		}
	}
	return sum, x0, x1
}

func TestTextMaskRender(t *testing.T) {
	m, err := NewTextMask(20, 400)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.H < 20 || m.H > 30 || m.Ascent <= 0 || m.Ascent >= m.H {
		t.Fatalf("line height %d, ascent %d for 20 px", m.H, m.Ascent)
	}
	w := m.Render([]byte("Hello"))
	sum, x0, x1 := coverage(m)
	if w < 30 || w > 80 || sum == 0 || x0 > 4 || x1 > w {
		t.Fatalf("Hello: width %d, coverage %d in columns %d..%d", w, sum, x0, x1)
	}
	first := bytes.Clone(m.Pix)

	// Another string gives another mask, and nothing of the last is left.
	m.Render([]byte("."))
	if bytes.Equal(first, m.Pix) {
		t.Fatal("'.' rendered as 'Hello'")
	}
	if _, _, x1 := coverage(m); x1 > 8 {
		t.Fatalf("'.' covers columns up to %d: the last string was not cleared", x1)
	}
	if m.Render([]byte("Hello")); !bytes.Equal(first, m.Pix) {
		t.Fatal("Hello rendered twice differs")
	}

	// Longer text is cut at MaxW.
	long := bytes.Repeat([]byte("W"), 100)
	if w := m.Render(long); w != m.MaxW {
		t.Fatalf("long text width %d, want %d", w, m.MaxW)
	}
}

func TestTextMaskRenderAllocs(t *testing.T) {
	m, err := NewTextMask(16, 300)
	if err != nil {
		t.Fatal(err)
	}
	m.Warm("0123456789:.")
	buf := make([]byte, 0, 32)
	wall := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	n := 0
	allocs := testing.AllocsPerRun(50, func() {
		n++
		buf = wall.Add(time.Duration(n)*time.Second).AppendFormat(buf[:0], "15:04:05")
		m.Render(buf)
	})
	if allocs != 0 {
		t.Fatalf("Render allocates %v times per string", allocs)
	}
}

func TestTextAppendText(t *testing.T) {
	p := &TextParams{Text: "{stream} at {clock}, pts {pts} {x} {"}
	info := FrameInfo{Stream: "cam1", PTS: 83456789 * time.Microsecond,
		Wall: time.Date(2030, 1, 2, 13, 4, 5, 0, time.FixedZone("x", 3600))}
	got := string(p.AppendText(nil, info))
	want := "cam1 at 12:04:05, pts 83.457 {x} {"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
