package cpu

import (
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
)

type rowCounter struct {
	rows []atomic.Int32
}

func (r *rowCounter) Band(y0, y1 int) {
	for y := y0; y < y1; y++ {
		r.rows[y].Add(1)
	}
}

func TestPoolCoversEveryRowOnce(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, workers := range []int{1, 2, 3, 8} {
		p := NewPool(workers)
		for _, rows := range []int{1, 2, 7, 100, 1080} {
			rc := &rowCounter{rows: make([]atomic.Int32, rows)}
			p.Run(rows, rc)
			for y := range rc.rows {
				if n := rc.rows[y].Load(); n != 1 {
					t.Fatalf("workers %d rows %d: row %d done %d times", workers, rows, y, n)
				}
			}
		}
		rc := &rowCounter{rows: make([]atomic.Int32, 64)}
		if a := testing.AllocsPerRun(20, func() { p.Run(64, rc) }); a != 0 {
			t.Fatalf("Run allocates %v per call", a)
		}
		p.Close()
		p.Close()
	}
}
