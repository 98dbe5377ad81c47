package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"sync"
	"time"

	"github.com/mutstream/mutstream/config"
	"github.com/mutstream/mutstream/gpu"
	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
	"github.com/mutstream/mutstream/transcode"
)

// ErrOverBudget means a chain would take longer per frame than the frame
// interval: it is refused.
var ErrOverBudget = errors.New("chain over the frame budget")

// mutations keeps each stream's chain in force, starts pipelines with it,
// and changes it on live pipelines. A chain set through the API outlives
// publishers (the next one starts with it) and, with a state_dir, restarts:
// it is stored before it is applied, and loaded before anything listens.
// It may be set for a stream that is not live yet.
type mutations struct {
	cfg      config.Mutations
	env      gpu.Env
	backend  gpu.Backend
	tcfg     transcode.Config
	hw       transcode.Hardware // NVDEC / NVENC, from the probe
	hub      *stream.Hub
	log      *slog.Logger
	defaults [][]gpu.Spec
	store    chainStore

	// order makes a chain change and a pipeline start one step each: a
	// pipeline starts with the chain stored last, and a change reaches the
	// pipeline running when it is stored, so GET tells what is in force.
	order sync.Mutex

	mu        sync.Mutex
	chains    map[string][]gpu.Spec // set through the API, as stored
	pipelines map[string]*transcode.Pipeline
}

func newMutations(cfg config.Config, backend gpu.Backend, log *slog.Logger) (*mutations, error) {
	defs, err := cfg.Mutations.ParsedDefaults()
	if err != nil {
		return nil, err
	}
	env := gpu.Env{Limits: cfg.Mutations.Limits, AssetsDir: cfg.Mutations.AssetsDir}
	store := chainStore{dir: cfg.StateDir}
	chains, err := store.load(env)
	if err != nil {
		return nil, err
	}
	if len(chains) > 0 {
		log.Info("mutation chains loaded", "component", "mutate", "streams", len(chains), "file", store.path())
	}
	return &mutations{
		cfg:       cfg.Mutations,
		env:       env,
		backend:   backend,
		tcfg:      cfg.Transcode,
		log:       log,
		defaults:  defs,
		store:     store,
		chains:    chains,
		pipelines: map[string]*transcode.Pipeline{},
	}, nil
}

// defaultFor returns the configured default chain for name, nil for none.
func (m *mutations) defaultFor(name string) []gpu.Spec {
	for i, d := range m.cfg.Defaults {
		if ok, _ := path.Match(d.Streams, name); ok {
			return m.defaults[i]
		}
	}
	return nil
}

// chainFor returns the chain a stream starts with.
func (m *mutations) chainFor(name string) []gpu.Spec {
	m.mu.Lock()
	c, ok := m.chains[name]
	m.mu.Unlock()
	if ok {
		return c
	}
	return m.defaultFor(name)
}

// start is the hub's StartFunc.
func (m *mutations) start(pub *stream.Publication) (stream.Pipeline, error) {
	st := pub.Stream()
	name := st.Name()
	m.order.Lock()
	defer m.order.Unlock()
	p, err := transcode.StartWith(pub, m.tcfg, transcode.Deps{
		Backend:  m.backend,
		Chain:    m.chainFor(name),
		OnEvent:  func(e gpu.Event) { m.emit(st, e) },
		OnError:  m.cfg.OnError,
		Hardware: m.hw,
	}, m.log)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.pipelines[name] = p
	m.mu.Unlock()
	return &trackedPipeline{Pipeline: p, done: func() {
		m.mu.Lock()
		if m.pipelines[name] == p {
			delete(m.pipelines, name)
		}
		m.mu.Unlock()
	}}, nil
}

// trackedPipeline forgets its pipeline when it closes.
type trackedPipeline struct {
	*transcode.Pipeline
	done func()
}

func (t *trackedPipeline) Close() error {
	err := t.Pipeline.Close()
	t.done()
	return err
}

func (m *mutations) emit(st *stream.Stream, e gpu.Event) {
	e.Stream = st.Name()
	metrics.AnalyzeEvents.WithLabelValues(st.Name(), e.Type).Inc()
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	st.EmitEvent(b)
}

// ChainState is what GET and PUT on a stream's mutations return.
type ChainState struct {
	Stream   string     `json:"stream"`
	Chain    []gpu.Spec `json:"chain"`
	Backend  string     `json:"backend"`
	CostMS   float64    `json:"cost_ms,omitempty"`
	BudgetMS float64    `json:"budget_ms,omitempty"`
	Size     string     `json:"measured_at,omitempty"`
	Warnings []string   `json:"warnings"`
}

// Chain returns the chain in force for a known stream, or the one stored
// for a stream that is not live yet; stream.ErrNotFound for any other.
func (m *mutations) Chain(name string) (any, error) {
	if _, err := m.hub.Lookup(name); errors.Is(err, stream.ErrNotFound) && !m.stored(name) {
		return nil, err
	}
	c := m.chainFor(name)
	if c == nil {
		c = []gpu.Spec{}
	}
	return ChainState{Stream: name, Chain: c, Backend: m.backend.Name(), Warnings: []string{}}, nil
}

// stored reports whether a chain was set through the API for name.
func (m *mutations) stored(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.chains[name]
	return ok
}

// SetChain parses, measures, stores and applies a chain; for a stream that
// is not live yet it is stored, and the stream starts with it. An empty
// chain clears the stored one (and overrides a configured default). The
// budget rule: the chain is timed on a frame of the stream's size
// (1280x720 when unknown); over the frame interval (1/fps) it is refused
// (or, with over_budget: warn, accepted with a warning); over half of it,
// it is accepted with a warning. A chain that cannot be stored is not
// applied: a restart would lose it.
func (m *mutations) SetChain(name string, body []byte) (any, error) {
	if !validStreamName.MatchString(name) {
		return nil, fmt.Errorf("%w: %q is not a stream name (1-64 of A-Z a-z 0-9 _ -)", stream.ErrNotFound, name)
	}
	st, _ := m.hub.Lookup(name) // nil when not live yet
	specs, err := gpu.ParseChain(body, m.env)
	if err != nil {
		return nil, err
	}
	res := ChainState{Stream: name, Chain: specs, Backend: m.backend.Name(), Warnings: []string{}}
	if len(specs) > 0 {
		w, h, fps := 1280, 720, 30.0
		if st != nil {
			if in := st.Info(); in.Source != nil && in.Source.Width > 0 {
				w, h = in.Source.Width, in.Source.Height
				if in.Source.FrameRate > 0 {
					fps = in.Source.FrameRate
				}
			}
		}
		cost, backend, err := transcode.MeasureChain(m.backend, specs, w, h, 5)
		if err != nil {
			return nil, err
		}
		res.Backend = backend
		budget := time.Duration(float64(time.Second) / fps)
		res.CostMS, res.BudgetMS = ms(cost), ms(budget)
		res.Size = fmt.Sprintf("%dx%d", w, h)
		if cost > budget && m.cfg.OverBudget == "warn" {
			res.Warnings = append(res.Warnings, fmt.Sprintf("over budget: the chain takes %.1f ms, more than the %.1f ms frame interval; frames will be late", res.CostMS, res.BudgetMS))
		} else if cost > budget {
			return res, fmt.Errorf("%w: %.1f ms per frame at %dx%d on %s; the budget at %.0f fps is %.1f ms",
				ErrOverBudget, res.CostMS, w, h, res.Backend, fps, res.BudgetMS)
		}
		if cost > budget/2 && cost <= budget {
			res.Warnings = append(res.Warnings, fmt.Sprintf("the chain takes %.1f ms of the %.1f ms frame budget", res.CostMS, res.BudgetMS))
		}
	}
	m.order.Lock()
	defer m.order.Unlock()
	m.mu.Lock()
	p := m.pipelines[name]
	old := m.chains
	next := make(map[string][]gpu.Spec, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	m.mu.Unlock()
	if len(specs) == 0 && m.defaultFor(name) == nil {
		delete(next, name) // nothing to override: forget the stream
	} else {
		next[name] = specs
	}
	if err := m.store.save(next); err != nil {
		return nil, fmt.Errorf("nothing changed: %w", err)
	}
	if p != nil {
		// A pipeline that has just closed takes nothing; the chain is
		// stored for the next publisher.
		if err := p.SetChain(specs); err != nil && !errors.Is(err, transcode.ErrClosed) {
			if rerr := m.store.save(old); rerr != nil {
				m.log.Error("the stored chain differs from the one in force: a restart would start the stream with it",
					"component", "mutate", "stream", name, "err", rerr)
			}
			return nil, fmt.Errorf("apply to the live pipeline: %w", err)
		}
	}
	m.mu.Lock()
	m.chains = next
	m.mu.Unlock()
	m.log.Info("mutation chain set", "component", "mutate", "stream", name, "ops", len(specs), "cost_ms", res.CostMS)
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
