package transcode

import (
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mutstream/mutstream/gpu"
	"github.com/mutstream/mutstream/metrics"
)

// mutator runs a stream's mutation chain on each decoded frame, between
// decode and the rungs' scalers. Only the pipeline goroutine uses it. It
// mutates its own writable copy of each frame. It fails closed: while a
// chain is in force, a frame the chain cannot run on (or fails on) is
// never encoded; the last good mutated frame or a black one of the
// frame's size is, as onError says (see substitute).
type mutator struct {
	backend gpu.Backend
	stream  string
	log     *slog.Logger
	emit    func(gpu.Event)

	// The analyze op's measures go to per-stream gauges, nil until the
	// first measure.
	measured     func(gpu.Measure)
	luma, motion prometheus.Gauge
	scene        prometheus.Gauge

	specs []gpu.Spec // the chain in force; empty: no mutation
	chain gpu.Chain  // built for shape; nil until the first frame
	shape frameShape // what chain was built for
	bad   frameShape // NewChain failed for this shape: not retried

	last     frameShape // the last frame mutated (after conversion)
	haveLast bool

	work *astiav.Frame // a reference to the decoded frame, made writable
	view gpu.Frame

	dview    gpu.Frame // a CUDA frame's planes in device memory
	onDevice bool      // the chain has run on device frames (logged once)

	// Conversion of formats the ops do not take to yuv420p.
	sws     *astiav.SoftwareScaleContext
	conv    *astiav.Frame
	convSrc frameShape

	// What replaces a frame the chain failed on (mutate_fail.go).
	onError string        // OnErrorHold or OnErrorBlack
	held    *astiav.Frame // a reference to the last good mutated host frame
	hasHeld bool
	black   *astiav.Frame // a black frame, of blackShape
	blackOf frameShape

	errs    errorLog
	seconds prometheus.Observer
}

// frameShape is a frame's size and pixel format.
type frameShape struct {
	w, h   int
	format gpu.PixelFormat
	av     astiav.PixelFormat
}

func newMutator(b gpu.Backend, streamName string, onEvent func(gpu.Event), log *slog.Logger) *mutator {
	m := &mutator{
		backend: b,
		stream:  streamName,
		log:     log,
		errs:    errorLog{every: 5 * time.Second},
		onError: OnErrorHold,
	}
	m.measured = m.showMeasure
	if onEvent != nil {
		m.emit = func(e gpu.Event) {
			e.Stream = streamName
			onEvent(e)
		}
	}
	return m
}

// active reports whether a non-empty chain is in force.
func (m *mutator) active() bool { return len(m.specs) > 0 }

// set puts specs in force from the next frame on. Once a frame has been
// seen the chain is built for its shape and an error leaves the old chain
// in force; before that, a chain is tried (and closed) for w x h yuv420p
// when the size is known, and built for real at the first frame. Empty
// specs remove mutation.
func (m *mutator) set(specs []gpu.Spec, w, h int) error {
	specs = slices.Clone(specs)
	if len(specs) == 0 {
		m.closeChain()
		m.unhold()
		m.specs = nil
		m.hideMeasure()
		return nil
	}
	switch {
	case m.haveLast:
		c, err := m.backend.NewChain(specs, m.last.w, m.last.h, m.last.format)
		if err != nil {
			return fmt.Errorf("mutation chain for %dx%d %s on %s: %w", m.last.w, m.last.h, m.last.format, m.backend.Name(), err)
		}
		m.closeChain()
		m.install(c, m.last)
	case w > 0 && h > 0:
		c, err := m.backend.NewChain(specs, w, h, gpu.YUV420P)
		if err != nil {
			return fmt.Errorf("mutation chain for %dx%d on %s: %w", w, h, m.backend.Name(), err)
		}
		c.Close()
		m.closeChain()
	default:
		m.closeChain()
	}
	m.specs = specs
	m.bad = frameShape{}
	m.unhold() // a frame of the old chain does not stand in for the new one
	if !slices.ContainsFunc(specs, func(s gpu.Spec) bool { return s.Op == "analyze" }) {
		m.hideMeasure()
	}
	return nil
}

// apply runs the chain on f, whose PTS is pts (90 kHz), and returns the
// frame to encode: f itself when no chain is in force, else the mutated
// copy, or, when the chain failed, the frame that replaces it
// (substitute): never f. nil means there is nothing to encode (not even a
// black frame could be made). The returned frame is valid until the next
// call.
func (m *mutator) apply(f *astiav.Frame, pts int64) *astiav.Frame {
	if !m.active() {
		return f
	}
	src, err := m.writable(f)
	if err != nil {
		return m.substitute(f, failConvert, err)
	}
	m.last, m.haveLast = frameShape{w: m.view.Width, h: m.view.Height, format: m.view.Format}, true
	if err := m.chainFor(m.last); err != nil {
		return m.substitute(f, failBuild, err)
	}
	if err := m.run(&m.view, pts); err != nil {
		return m.substitute(f, failApply, err)
	}
	m.hold(src)
	return src
}

// applyDevice runs the chain on f, a CUDA frame from NVDEC, in place in
// device memory. done is false when no chain is in force, when f is not
// NV12 in device memory, or when the chain cannot take device frames (the
// CPU backend, or a chain with an op that has no kernel): the caller then
// downloads f and calls apply. Otherwise out is f, mutated, or, when the
// chain failed on it (f may be changed in part), the host frame that
// replaces it (substitute; nil when there is none).
func (m *mutator) applyDevice(f *astiav.Frame, pts int64) (out *astiav.Frame, done bool) {
	if !m.active() {
		return nil, false
	}
	if err := deviceView(f, &m.dview); err != nil {
		return nil, false
	}
	shape := frameShape{w: m.dview.Width, h: m.dview.Height, format: gpu.NV12}
	if m.chainFor(shape) != nil {
		return nil, false // the host path replaces the frame and reports it
	}
	if dc, ok := m.chain.(gpu.DeviceChain); !ok || !dc.TakesDevice() {
		return nil, false
	}
	m.last, m.haveLast = shape, true
	if !m.onDevice {
		m.onDevice = true
		m.log.Info("mutation runs on device frames, before their download", "backend", m.backend.Name())
	}
	if err := m.run(&m.dview, pts); err != nil {
		return m.substitute(f, failApply, err), true
	}
	m.unhold() // no host copy of this one: an older held frame would be stale
	return f, true
}

// install puts c, built for frames of shape s, in force; its time per
// frame counts under the backend that runs it.
func (m *mutator) install(c gpu.Chain, s frameShape) {
	m.chain, m.shape = c, s
	m.seconds = metrics.MutateSeconds.WithLabelValues(gpu.ChainBackend(m.backend, c))
}

// chainFor makes m.chain the chain in force built for frames of shape s.
func (m *mutator) chainFor(s frameShape) error {
	if m.chain != nil && m.shape == s {
		return nil
	}
	if m.bad == s {
		return fmt.Errorf("no mutation chain for %dx%d %s", s.w, s.h, s.format)
	}
	m.closeChain()
	c, err := m.backend.NewChain(m.specs, s.w, s.h, s.format)
	if err != nil {
		m.bad = s
		return fmt.Errorf("mutation chain for %dx%d %s: %w", s.w, s.h, s.format, err)
	}
	m.install(c, s)
	return nil
}

// run applies the chain to the frame view, timed.
func (m *mutator) run(view *gpu.Frame, pts int64) error {
	info := gpu.FrameInfo{Stream: m.stream, PTS: toDuration(pts, videoTimeBase), Wall: time.Now(), Emit: m.emit, Measured: m.measured}
	start := time.Now()
	err := m.chain.Apply(view, info)
	m.seconds.Observe(time.Since(start).Seconds())
	return err
}

// showMeasure publishes an analyze op's measures of a frame.
func (m *mutator) showMeasure(ms gpu.Measure) {
	if m.luma == nil {
		m.luma = metrics.AnalyzeLuma.WithLabelValues(m.stream)
		m.motion = metrics.AnalyzeMotion.WithLabelValues(m.stream)
		m.scene = metrics.AnalyzeSceneScore.WithLabelValues(m.stream)
	}
	m.luma.Set(ms.MeanLuma)
	m.motion.Set(ms.Motion)
	m.scene.Set(ms.SceneScore)
}

// hideMeasure removes the analyze gauges: the chain has no analyze op
// any more, or the stream ends.
func (m *mutator) hideMeasure() {
	if m.luma != nil {
		m.luma, m.motion, m.scene = nil, nil, nil
		metrics.DeleteAnalyze(m.stream)
	}
}

// writable returns a writable copy of f in a format the ops take, with
// m.view describing its planes.
func (m *mutator) writable(f *astiav.Frame) (*astiav.Frame, error) {
	format, ok := gpuFormat(f.PixelFormat())
	if !ok {
		c, err := m.convert(f)
		if err != nil {
			return nil, err
		}
		if err := writableView(c, gpu.YUV420P, &m.view); err != nil {
			return nil, err
		}
		return c, nil
	}
	if m.work == nil {
		var err error
		if m.work, err = allocFrame(); err != nil {
			return nil, err
		}
	}
	m.work.Unref()
	if err := m.work.Ref(f); err != nil {
		return nil, fmt.Errorf("frame ref: %w", err)
	}
	// The decoder keeps its own reference: making work writable copies.
	if err := writableView(m.work, format, &m.view); err != nil {
		return nil, err
	}
	return m.work, nil
}

// convert scales f into m.conv, a frame only the mutator references, as
// yuv420p at the same size.
func (m *mutator) convert(f *astiav.Frame) (*astiav.Frame, error) {
	in := frameShape{w: f.Width(), h: f.Height(), av: f.PixelFormat()}
	if m.sws == nil || in != m.convSrc {
		m.freeConv()
		sws, err := astiav.CreateSoftwareScaleContext(in.w, in.h, in.av, in.w, in.h, astiav.PixelFormatYuv420P,
			astiav.NewSoftwareScaleContextFlags(astiav.SoftwareScaleContextFlagBilinear))
		if err != nil {
			return nil, fmt.Errorf("convert %dx%d %s to yuv420p for mutation: %w", in.w, in.h, in.av, err)
		}
		m.sws = tracked(sws)
		if m.conv, err = allocFrame(); err != nil {
			return nil, err
		}
		m.conv.SetWidth(in.w)
		m.conv.SetHeight(in.h)
		m.conv.SetPixelFormat(astiav.PixelFormatYuv420P)
		if err := m.conv.AllocBuffer(0); err != nil {
			return nil, fmt.Errorf("convert for mutation: buffer: %w", err)
		}
		m.convSrc = in
	}
	// The last good frame may share m.conv's buffer: write into a new one.
	if err := makeWritable(m.conv); err != nil {
		return nil, fmt.Errorf("convert for mutation: %w", err)
	}
	if err := m.sws.ScaleFrame(f, m.conv); err != nil {
		return nil, fmt.Errorf("convert %s to yuv420p for mutation: %w", in.av, err)
	}
	m.conv.SetPts(f.Pts())
	return m.conv, nil
}

func (m *mutator) closeChain() {
	if m.chain != nil {
		m.chain.Close()
		m.chain = nil
	}
	m.shape = frameShape{}
}

func (m *mutator) freeConv() {
	free(m.sws)
	free(m.conv)
	m.sws, m.conv = nil, nil
	m.convSrc = frameShape{}
}

// close frees the chain and every FFmpeg object the mutator holds.
func (m *mutator) close() {
	m.hideMeasure()
	m.closeChain()
	m.freeConv()
	m.freeSubstitutes()
	free(m.work)
	m.work = nil
}
