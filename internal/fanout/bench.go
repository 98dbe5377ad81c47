package fanout

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// Bench adds viewers to one server, step by step, and measures each step.
// Only the goroutine that calls its methods uses it.
type Bench struct {
	Server         string        // a name for the lines and the CSV
	URL            string        // the WHEP URL every viewer posts to
	PID            int           // the server's process, for its CPU
	Rate           float64       // viewer joins per second
	Warmup         time.Duration // after the last viewer plays, before the window
	Window         time.Duration // the measurement
	ConnectTimeout time.Duration // for every new viewer to receive media
	Log            io.Writer
	// WindowStart, if set, is called when a window begins (e.g. to take
	// a profile over it); it must not block.
	WindowStart func(viewers int)
	// PublisherRestarts, if set, counts the publisher's restarts; a
	// window in which it moved is flagged.
	PublisherRestarts func() int64

	api         *webrtc.API
	client      *http.Client
	viewers     []*Viewer
	refused     int
	idleTicksPS float64
}

func (b *Bench) init() error {
	if b.api != nil {
		return nil
	}
	api, err := NewAPI()
	if err != nil {
		return err
	}
	b.api = api
	b.client = &http.Client{Timeout: 10 * time.Second}
	if b.Rate <= 0 {
		b.Rate = 20
	}
	if b.Log == nil {
		b.Log = io.Discard
	}
	return nil
}

// MeasureIdle measures the server's CPU over one window with no viewer
// (the stream published); later steps subtract it for the marginal cost.
func (b *Bench) MeasureIdle(ctx context.Context) (Result, error) {
	if err := b.init(); err != nil {
		return Result{}, err
	}
	if len(b.viewers) > 0 {
		return Result{}, fmt.Errorf("fanout: idle measured with %d viewers", len(b.viewers))
	}
	w, err := b.measure(ctx, 0)
	if err != nil {
		return Result{}, err
	}
	b.idleTicksPS = float64(w.ServerTicks) / w.Duration.Seconds()
	w.IdleTicksPS = b.idleTicksPS
	return w.Compute(), nil
}

// Step brings the viewers up to n (joining at Rate), waits for them to
// play and for Warmup, then measures one Window.
func (b *Bench) Step(ctx context.Context, n int) (Result, error) {
	if err := b.init(); err != nil {
		return Result{}, err
	}
	if err := b.grow(ctx, n); err != nil {
		return Result{}, err
	}
	b.waitPlaying(ctx)
	select {
	case <-ctx.Done():
		return Result{}, ctx.Err()
	case <-time.After(b.Warmup):
	}
	w, err := b.measure(ctx, n)
	if err != nil {
		return Result{}, err
	}
	w.IdleTicksPS = b.idleTicksPS
	return w.Compute(), nil
}

// grow dials viewers until n have been asked for, one every 1/Rate s, each
// in its own goroutine, and waits for every dial.
func (b *Bench) grow(ctx context.Context, n int) error {
	have := len(b.viewers) + b.refused
	if n <= have {
		return nil
	}
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		got []*Viewer
		bad int
	)
	tick := time.NewTicker(time.Duration(float64(time.Second) / b.Rate))
	defer tick.Stop()
	for i := have; i < n; i++ {
		if i > have {
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			defer cancel()
			v, err := DialViewer(dctx, b.api, b.client, b.URL)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if bad < 3 {
					fmt.Fprintf(b.Log, "fanout: %s viewer refused: %v\n", b.Server, err)
				}
				bad++
				return
			}
			got = append(got, v)
		}()
	}
	wg.Wait()
	b.viewers = append(b.viewers, got...)
	b.refused += bad
	return ctx.Err()
}

// waitPlaying waits until every viewer has read a packet, or for
// ConnectTimeout; the window then shows who does not play.
func (b *Bench) waitPlaying(ctx context.Context) {
	deadline := time.Now().Add(b.ConnectTimeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		all := true
		for _, v := range b.viewers {
			if v.packets.Load() == 0 {
				all = false
				break
			}
		}
		if all {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// snapshot is the counters at one instant.
type snapshot struct {
	at      time.Time
	server  uint64
	tool    uint64
	machine MachineCPU
	counts  []ViewerCount
}

func (b *Bench) snap() (snapshot, error) {
	s := snapshot{at: time.Now()}
	var err error
	if s.server, err = ProcCPU(b.PID); err != nil {
		return s, fmt.Errorf("fanout: the server's CPU (pid %d): %w", b.PID, err)
	}
	if s.tool, err = ProcCPU(0); err != nil {
		return s, err
	}
	if s.machine, err = ReadMachineCPU(); err != nil {
		return s, err
	}
	s.counts = make([]ViewerCount, len(b.viewers))
	for i, v := range b.viewers {
		s.counts[i] = v.Count()
	}
	return s, nil
}

func (b *Bench) measure(ctx context.Context, n int) (Window, error) {
	s0, err := b.snap()
	if err != nil {
		return Window{}, err
	}
	var r0 int64
	if b.PublisherRestarts != nil {
		r0 = b.PublisherRestarts()
	}
	if b.WindowStart != nil {
		b.WindowStart(n)
	}
	select {
	case <-ctx.Done():
		return Window{}, ctx.Err()
	case <-time.After(b.Window):
	}
	s1, err := b.snap()
	if err != nil {
		return Window{}, err
	}
	w := Window{Server: b.Server, Viewers: n, Refused: b.refused, Duration: s1.at.Sub(s0.at),
		ServerTicks: s1.server - s0.server, ToolTicks: s1.tool - s0.tool, Machine0: s0.machine, Machine1: s1.machine}
	if b.PublisherRestarts != nil {
		w.PublisherRestarts = int(b.PublisherRestarts() - r0)
	}
	for i, c := range s1.counts {
		c0 := s0.counts[i]
		w.Counts = append(w.Counts, ViewerCount{Packets: c.Packets - c0.Packets, Bytes: c.Bytes - c0.Bytes, Padded: c.Padded - c0.Padded})
	}
	return w, nil
}

// Close ends every viewer, several at a time.
func (b *Bench) Close() {
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, v := range b.viewers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			v.Close()
			<-sem
		}()
	}
	wg.Wait()
	b.viewers, b.refused = nil, 0
}
