package signaling

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	l := newLimiter(RateLimit{Viewers: Bucket{PerSecond: 2, Burst: 3}, Publishers: Bucket{PerSecond: 1, Burst: 1}})
	now := time.Unix(1000, 0)
	for i := 0; i < 3; i++ {
		if ok, _ := l.allow("whep", "192.0.2.1", now); !ok {
			t.Fatalf("request %d within burst refused", i)
		}
	}
	ok, wait := l.allow("whep", "192.0.2.1", now)
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("over burst: ok %v wait %v", ok, wait)
	}
	if ok, _ := l.allow("whep", "192.0.2.2", now); !ok {
		t.Fatal("another address was limited")
	}
	if ok, _ := l.allow("whip", "192.0.2.1", now); !ok {
		t.Fatal("viewers' requests used up the publishers' bucket")
	}
	if ok, _ := l.allow("whip", "192.0.2.1", now); ok {
		t.Fatal("publishers' bucket of 1 gave 2")
	}
	if ok, _ := l.allow("whep", "192.0.2.1", now.Add(600*time.Millisecond)); !ok {
		t.Fatal("refill not granted")
	}
	// One IPv6 /64 is one client; the next /64 is another.
	for i, addr := range []string{"2001:db8:0:1::1", "2001:db8:0:1::2", "2001:db8:0:1:ffff::3"} {
		if ok, _ := l.allow("whep", addr, now); ok != (i < 3) {
			t.Fatalf("%s: ok %v", addr, ok)
		}
	}
	if ok, _ := l.allow("whep", "2001:db8:0:1::9", now); ok {
		t.Fatal("a fourth address in the same /64 was a new client")
	}
	if ok, _ := l.allow("whep", "2001:db8:0:2::1", now); !ok {
		t.Fatal("another /64 was limited")
	}
	off := newLimiter(RateLimit{})
	for i := 0; i < 100; i++ {
		if ok, _ := off.allow("whep", "a", now); !ok {
			t.Fatal("disabled limiter refused")
		}
	}
	// The deprecated single limit sets both buckets.
	old := newLimiter(RateLimit{PerSecond: 1, Burst: 2, Viewers: Bucket{PerSecond: 100, Burst: 100}})
	for _, kind := range []string{"whep", "whip"} {
		n := 0
		for i := 0; i < 10; i++ {
			if ok, _ := old.allow(kind, "x", now); ok {
				n++
			}
		}
		if n != 2 {
			t.Fatalf("%s under per_second 1, burst 2: %d admitted", kind, n)
		}
	}
}
