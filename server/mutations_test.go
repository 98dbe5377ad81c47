package server

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mutstream/mutstream/config"
	"github.com/mutstream/mutstream/gpu"
	"github.com/mutstream/mutstream/stream"
)

// slowBackend's chains take a fixed time per frame.
type slowBackend struct{ per time.Duration }

type slowChain struct{ per time.Duration }

func (b slowBackend) Name() string { return "slow" }
func (b slowBackend) NewChain([]gpu.Spec, int, int, gpu.PixelFormat) (gpu.Chain, error) {
	return slowChain(b), nil
}
func (c slowChain) Apply(*gpu.Frame, gpu.FrameInfo) error { time.Sleep(c.per); return nil }
func (c slowChain) Close()                                {}

type nopPipeline struct{}

func (nopPipeline) Close() error { return nil }

func TestBudgetRule(t *testing.T) {
	for _, tc := range []struct {
		name   string
		per    time.Duration
		mode   string
		err    bool
		warned bool
	}{
		{"fast", time.Millisecond, "refuse", false, false},
		{"over half the budget", 20 * time.Millisecond, "refuse", false, true},
		{"over budget refused", 45 * time.Millisecond, "refuse", true, false},
		{"over budget warned", 45 * time.Millisecond, "warn", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.StateDir = t.TempDir()
			cfg.Mutations.OverBudget = tc.mode
			m, err := newMutations(cfg, slowBackend{tc.per}, slog.Default())
			if err != nil {
				t.Fatal(err)
			}
			m.hub = stream.NewHub(func(*stream.Publication) (stream.Pipeline, error) { return nopPipeline{}, nil }, nil)
			defer m.hub.Close()
			if _, err := m.SetChain("no such name", []byte(`[]`)); !errors.Is(err, stream.ErrNotFound) {
				t.Fatalf("invalid stream name: %v", err)
			}
			if _, err := m.hub.Publish("cam", "test", []stream.Track{{Kind: stream.KindVideo, Codec: stream.CodecH264}}, nil); err != nil {
				t.Fatal(err)
			}
			res, err := m.SetChain("cam", []byte(`[{"op":"color","brightness":0.1}]`))
			if tc.err {
				if !errors.Is(err, ErrOverBudget) || !strings.Contains(err.Error(), "budget at 30 fps is 33.3 ms") {
					t.Fatalf("want refusal, got %v", err)
				}
				got, _ := m.Chain("cam")
				if len(got.(ChainState).Chain) != 0 {
					t.Fatal("a refused chain came into force")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			st := res.(ChainState)
			if (len(st.Warnings) > 0) != tc.warned || st.CostMS <= 0 || st.BudgetMS < 33 || st.BudgetMS > 34 {
				t.Fatalf("result %+v", st)
			}
			got, _ := m.Chain("cam")
			if len(got.(ChainState).Chain) != 1 {
				t.Fatal("chain not in force")
			}
		})
	}
}
