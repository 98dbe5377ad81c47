package sender

import (
	"sync"
	"time"

	"github.com/mutstream/mutstream/adapt"
	"github.com/mutstream/mutstream/stream"
)

// The adaptation clock runs the controller of every viewer whose packets
// the feeds' goroutines send (sink.go) from one goroutine, every
// adaptInterval, and each second its second's work (sender reports,
// stats), instead of two tickers per viewer: at hundreds of viewers each
// waking six times a second, the wakeups cost more than the work. The clock plans (plan: the controller, demand, pacing, audio
// only) under the loop's lock when it is free; a decision that ends or
// starts a reader (a switch, a hold) is left to the loop, woken for it,
// since only the loop may close a reader it waits on. A loop that holds
// its state is woken to decide itself.
type adaptClock struct {
	mu      sync.Mutex
	loops   map[*loop]struct{}
	running bool
	batch   []*loop // the clock goroutine's
	ticks   int     // the clock goroutine's
}

// secondTicks is how many adaptation ticks make the second tick.
const secondTicks = int(time.Second / adaptInterval)

// clock is the process's adaptation clock. Its goroutine runs while a
// loop is registered and ends at the first tick after the last leaves.
var clock = &adaptClock{loops: map[*loop]struct{}{}}

// add has the clock decide for l from now on.
func (c *adaptClock) add(l *loop) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loops[l] = struct{}{}
	if !c.running {
		c.running = true
		go c.run()
	}
}

// remove stops deciding for l.
func (c *adaptClock) remove(l *loop) {
	c.mu.Lock()
	delete(c.loops, l)
	c.mu.Unlock()
}

func (c *adaptClock) run() {
	t := time.NewTicker(adaptInterval)
	defer t.Stop()
	for range t.C {
		c.mu.Lock()
		if len(c.loops) == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		c.batch = c.batch[:0]
		for l := range c.loops {
			c.batch = append(c.batch, l)
		}
		c.mu.Unlock()
		c.ticks++
		second := c.ticks%secondTicks == 0
		for i, l := range c.batch {
			l.tick(second)
			c.batch[i] = nil
		}
	}
}

// tick is the adaptation tick of a loop with sinks, in the clock's
// goroutine, and its second tick when second is set.
func (l *loop) tick(second bool) {
	if !l.mu.TryLock() {
		if second {
			l.secondDue.Store(true)
		}
		l.decideDue.Store(true)
		l.poke()
		return
	}
	defer l.mu.Unlock()
	if l.closed || l.stopped {
		return
	}
	if second {
		l.secondTick()
		if l.audioMoved() != nil {
			l.audioDue.Store(true) // the loop reads the new audio feed
			l.poke()
		}
	}
	l.planned = nil // this decision replaces one the loop has not acted on
	now, d, f := l.plan()
	if l.settled(f) {
		l.act(now, d, f)
	} else {
		l.planned = &plannedAct{now: now, d: d, f: f}
		l.poke()
		return
	}
	if l.padding() != l.padOn {
		l.poke() // the pad tick must start or stop
	}
}

// plannedAct is a decision the clock took for the loop to act on.
type plannedAct struct {
	now time.Time
	d   adapt.Decision
	f   *stream.Feed
}

// onPoke does, in the loop, what the clock left to it: a second tick, a
// new audio feed to read, and a decision to take, or else one to act on.
// l.mu is held.
func (l *loop) onPoke() {
	second, audio := l.secondDue.Swap(false), l.audioDue.Swap(false)
	if second {
		l.onSecondTick() // the audio feed too
	} else if audio {
		l.resubscribeAudio()
	}
	if l.decideDue.Swap(false) {
		l.decide() // newer than any decision left: it replaces it
	} else if p := l.planned; p != nil {
		l.planned = nil
		l.act(p.now, p.d, p.f)
	}
}
