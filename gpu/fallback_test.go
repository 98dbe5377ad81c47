package gpu

import (
	"errors"
	"testing"
)

type fakeBackend struct {
	name string
	fail bool
}

type fakeChain struct{ by string }

func (c *fakeChain) Apply(*Frame, FrameInfo) error { return nil }
func (c *fakeChain) Close()                        {}

func (b *fakeBackend) Name() string { return b.name }
func (b *fakeBackend) NewChain([]Spec, int, int, PixelFormat) (Chain, error) {
	if b.fail {
		return nil, errors.New("no kernel")
	}
	return &fakeChain{by: b.name}, nil
}

func TestWithFallback(t *testing.T) {
	ok := WithFallback(&fakeBackend{name: "cuda"}, &fakeBackend{name: "cpu"})
	c, err := ok.NewChain(nil, 2, 2, YUV420P)
	if err != nil || c.(*fakeChain).by != "cuda" || ok.Name() != "cuda" || ChainBackend(ok, c) != "cuda" {
		t.Fatalf("primary not used: %v", err)
	}
	fb := WithFallback(&fakeBackend{name: "cuda", fail: true}, &fakeBackend{name: "cpu"})
	c, err = fb.NewChain(nil, 2, 2, YUV420P)
	if err != nil || c.(fellBack).Chain.(*fakeChain).by != "cpu" {
		t.Fatalf("fallback not used: %v", err)
	}
	if got := ChainBackend(fb, c); got != "cpu" {
		t.Errorf("a chain the fallback built is said to run on %q, want cpu", got)
	}
	both := WithFallback(&fakeBackend{name: "cuda", fail: true}, &fakeBackend{name: "cpu", fail: true})
	if _, err := both.NewChain(nil, 2, 2, YUV420P); err == nil {
		t.Fatal("an error from both backends was swallowed")
	}
}
