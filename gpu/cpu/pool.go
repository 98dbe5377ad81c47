package cpu

import "sync"

// Bander does one band of rows [y0, y1) of its current job.
type Bander interface {
	Band(y0, y1 int)
}

// Pool runs a Bander over the rows of a plane on a fixed set of goroutines,
// owned by the chain and ended by Close. Run allocates nothing.
type Pool struct {
	workers int
	jobs    chan job
	wg      sync.WaitGroup // the workers
	done    sync.WaitGroup // the bands of the current Run
	once    sync.Once
}

type job struct {
	b      Bander
	y0, y1 int
}

// NewPool starts workers-1 goroutines; the caller of Run is the last worker.
func NewPool(workers int) *Pool {
	if workers < 1 {
		workers = 1
	}
	p := &Pool{workers: workers, jobs: make(chan job, workers)}
	for i := 1; i < workers; i++ {
		p.wg.Add(1)
		go p.work()
	}
	return p
}

func (p *Pool) work() {
	defer p.wg.Done()
	for j := range p.jobs {
		j.b.Band(j.y0, j.y1)
		p.done.Done()
	}
}

// Run calls b.Band over [0, rows) split into bands, and returns when all
// are done.
func (p *Pool) Run(rows int, b Bander) {
	if rows <= 0 {
		return
	}
	n := p.workers
	if n > rows {
		n = rows
	}
	if n == 1 {
		b.Band(0, rows)
		return
	}
	step := (rows + n - 1) / n
	p.done.Add(n - 1)
	for i := 1; i < n; i++ {
		y0 := i * step
		y1 := min(y0+step, rows)
		if y0 >= y1 {
			p.done.Done()
			continue
		}
		p.jobs <- job{b: b, y0: y0, y1: y1}
	}
	b.Band(0, min(step, rows))
	p.done.Wait()
}

// Close stops the workers and waits for them.
func (p *Pool) Close() {
	p.once.Do(func() {
		close(p.jobs)
		p.wg.Wait()
	})
}
