package transcode

import (
	"errors"
	"testing"
	"time"
)

func TestKeyLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	asked := 0
	k := newKeyLimiter(500*time.Millisecond, func() { asked++ })
	k.now = func() time.Time { return now }
	step := func(d time.Duration) { now = now.Add(d) }

	k.request()
	if asked != 1 {
		t.Fatalf("first request: asked %d times, want 1", asked)
	}
	step(100 * time.Millisecond)
	k.request()
	k.request()
	k.poll()
	if asked != 1 {
		t.Fatalf("requests within the interval: asked %d times, want 1", asked)
	}
	step(400 * time.Millisecond)
	k.poll()
	if asked != 2 {
		t.Fatalf("after the interval: asked %d times, want 2 (the waiting request)", asked)
	}
	k.poll()
	step(time.Second)
	k.poll()
	if asked != 2 {
		t.Fatalf("nothing waiting: asked %d times, want 2", asked)
	}
	// A keyframe from the publisher answers a waiting request.
	k.request() // asked: 3
	step(100 * time.Millisecond)
	k.request() // waits
	k.keyframe()
	step(time.Second)
	k.poll()
	if asked != 3 {
		t.Fatalf("answered by a keyframe: asked %d times, want 3", asked)
	}
}

func TestConfigSourceRung(t *testing.T) {
	c := DefaultConfig()
	if !c.SourceRung || len(c.NoSourceRung) != 0 {
		t.Fatalf("defaults: source_rung %v, no_source_rung %v", c.SourceRung, c.NoSourceRung)
	}
	c.NoSourceRung = []string{"lobby", "test-*"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"lobby": false, "test-1": false, "main": true, "lobby2": true} {
		if got := c.sourceRungFor(name); got != want {
			t.Errorf("sourceRungFor(%q) = %v, want %v", name, got, want)
		}
	}
	c.SourceRung = false
	if c.sourceRungFor("main") {
		t.Error("source_rung: false still allows it")
	}
	for _, bad := range []string{"[a-", ""} {
		c := DefaultConfig()
		c.NoSourceRung = []string{"ok", bad}
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) || err.Error()[:17] != "no_source_rung[1]" {
			t.Errorf("pattern %q: %v", bad, err)
		}
	}
	c = DefaultConfig()
	c.Ladder[0].Name = SourceRungName
	if err := c.Validate(); err == nil {
		t.Error("a ladder rung named \"source\" was accepted")
	}
	c.SourceRung = false
	if err := c.Validate(); err != nil {
		t.Errorf("rung named \"source\" with source_rung off: %v", err)
	}
}
