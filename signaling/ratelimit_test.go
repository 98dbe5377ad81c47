package signaling

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	l := newLimiter(RateLimit{PerSecond: 2, Burst: 3})
	now := time.Unix(1000, 0)
	for i := 0; i < 3; i++ {
		if ok, _ := l.allow("a", now); !ok {
			t.Fatalf("request %d within burst refused", i)
		}
	}
	ok, wait := l.allow("a", now)
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("over burst: ok %v wait %v", ok, wait)
	}
	if ok, _ := l.allow("b", now); !ok {
		t.Fatal("another address was limited")
	}
	if ok, _ := l.allow("a", now.Add(600*time.Millisecond)); !ok {
		t.Fatal("refill not granted")
	}
	off := newLimiter(RateLimit{})
	for i := 0; i < 100; i++ {
		if ok, _ := off.allow("a", now); !ok {
			t.Fatal("disabled limiter refused")
		}
	}
}
