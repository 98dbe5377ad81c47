package transcode

import (
	"errors"
	"time"

	"github.com/asticode/go-astiav"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// videoPath decodes the source video and hands each frame to every rung,
// deciding per source frame whether a scheduled keyframe is due.
type videoPath struct {
	p      *Pipeline
	dec    *decoder
	track  stream.Track // what dec decodes, to reopen it on the CPU
	rungs  []*rungEncoder
	hwErrs int // NVDEC errors in a row

	// onDevice: NVDEC frames go to the rungs in device memory, for
	// scale_cuda (Hardware.Scale, until it fails). curHost is the current
	// device frame's download, once a rung needed one.
	onDevice bool
	curHost  *astiav.Frame

	srcW, srcH int
	needKey    bool // drop until a keyframe (start, and after an error)
	failed     bool // setup failed: decode nothing more

	nextKey  int64 // 90 kHz
	haveKey  bool
	lastPts  int64
	havePts  bool
	encErrs  errorLog
	gopTicks int64

	// resting: no rung is watched and no chain runs, so the source is
	// not decoded (rest.go); held keeps its packets since the rest began
	// or the latest keyframe, decoded when a rung is watched again.
	resting bool
	held    []*stream.Packet
}

// handle decodes one video packet and encodes what comes out.
func (v *videoPath) handle(pkt *stream.Packet) {
	if v.failed {
		return
	}
	if v.needKey {
		if !pkt.Keyframe {
			metrics.DroppedFrames.WithLabelValues("decode_resync").Inc()
			return
		}
		v.needKey = false
	}
	if v.wanted() {
		if v.resting && !v.wake() {
			return
		}
	} else if !v.rest(pkt) {
		return
	}
	v.decode(pkt, v.frame)
}

// decode decodes pkt and hands each picture to fn; false when the decoder
// failed, and the path then waits for a keyframe.
func (v *videoPath) decode(pkt *stream.Packet, fn func(*astiav.Frame)) bool {
	if err := v.dec.send(pkt); err != nil {
		v.decodeErr(err)
		v.needKey = true
		return false
	}
	for {
		f, err := v.dec.receive()
		if err != nil {
			v.decodeErr(err)
			v.needKey = true
			return false
		}
		if f == nil {
			return true
		}
		fn(f)
	}
}

// decodeErr logs and counts a decode or download error, and counts it
// against NVDEC.
func (v *videoPath) decodeErr(err error) {
	v.p.decodeError(stream.KindVideo, err)
	v.nvdecFailed(err)
}

// nvdecMaxErrors is how many NVDEC errors in a row (decode or download)
// move a stream to the CPU decoder.
const nvdecMaxErrors = 3

// nvdecFailed counts an error of an NVDEC decoder: after nvdecMaxErrors in
// a row the stream goes on with FFmpeg's CPU decoder from the next
// keyframe, and says why. Invalid data is the input's fault, not NVDEC's.
func (v *videoPath) nvdecFailed(err error) {
	if v.dec.hw == nil || errors.Is(err, astiav.ErrInvaliddata) {
		return
	}
	if v.hwErrs++; v.hwErrs < nvdecMaxErrors {
		return
	}
	d, oerr := openDecoder(v.track)
	if oerr != nil {
		v.p.log.Error("NVDEC keeps failing and the CPU decoder does not open", "nvdec_err", err, "err", oerr)
		v.hwErrs = 0
		return
	}
	v.dec.close()
	v.dec, v.hwErrs, v.needKey = d, 0, true
	metrics.HardwareFallbacks.WithLabelValues("decode").Inc()
	v.p.log.Warn("video decodes on the CPU from the next keyframe: NVDEC failed mid-stream", "errors_in_a_row", nvdecMaxErrors, "last_err", err)
}

// mutate runs the stream's mutation chain on f and returns the frame to
// scale and encode. A CUDA frame from NVDEC is mutated in device memory
// where the chain can (the CUDA backend, or no chain), then handed to the
// rungs as it is for scale_cuda (onDevice) or downloaded once; else it is
// downloaded first and mutated on the host. A frame the chain failed on is
// replaced by a host frame (mutator.substitute); nil means nothing is to be
// encoded for f.
func (v *videoPath) mutate(f *astiav.Frame, pts int64) (*astiav.Frame, error) {
	if f.PixelFormat() != astiav.PixelFormatCuda {
		return v.p.mut.apply(f, pts), nil
	}
	out, done := v.p.mut.applyDevice(f, pts)
	if done && out != f {
		v.curHost = nil
		return out, nil // the replacement of a frame the chain failed on
	}
	if v.onDevice && (done || !v.p.mut.active()) {
		v.curHost = nil
		return f, nil
	}
	h, err := v.dec.host(f)
	if err != nil || done {
		return h, err
	}
	return v.p.mut.apply(h, pts), nil
}

// toHost gives a rung whose scale_cuda failed src, the current device
// frame, downloaded once for every rung that asks: the stream scales with
// swscale from the next frame on, and says why once.
func (v *videoPath) toHost(src *astiav.Frame, why error) (*astiav.Frame, error) {
	if v.onDevice {
		v.onDevice = false
		metrics.HardwareFallbacks.WithLabelValues("scale").Inc()
		v.p.log.Warn("video scales on the CPU from the next frame: scale_cuda failed", "reason", why)
	}
	if v.curHost == nil {
		h, err := v.dec.host(src)
		if err != nil {
			return nil, err
		}
		v.curHost = h
	}
	return v.curHost, nil
}

func (v *videoPath) frame(f *astiav.Frame) {
	if v.rungs == nil {
		if err := v.p.openRungs(f.Width(), f.Height()); err != nil {
			v.p.log.Error("transcode setup failed; stream has no output", "err", err)
			v.failed = true
			return
		}
		v.p.syncLadder()
	} else if f.Width() != v.srcW || f.Height() != v.srcH {
		v.p.replan(f.Width(), f.Height())
	}
	if !v.p.installed {
		return // no feeds yet (cannot happen after a keyframe was observed)
	}
	pts := f.Pts()
	if pts == astiav.NoPtsValue {
		pts = v.lastPts + 3000
		if !v.havePts {
			pts = 0
		}
	}
	v.lastPts, v.havePts = pts, true
	f, err := v.mutate(f, pts)
	if err != nil {
		v.decodeErr(err) // a download: the decoder's state is intact
		return
	}
	if f == nil {
		return // the chain failed and nothing could replace the frame (counted)
	}
	v.hwErrs = 0
	due := v.scheduledKey(pts)
	for _, e := range v.rungs {
		if e.rung.lowFPSOf != "" {
			continue // a capped variant is encoded with its base rung
		}
		r := runs{h264: !e.idle(v.p.log), vp8: e.vp8 != nil && !e.vp8.idle(v.p.log)}
		if e.low != nil {
			r.low = !e.low.idle(v.p.log)
			r.lowVP8 = e.low.vp8 != nil && !e.low.vp8.idle(v.p.log)
		}
		if !r.any() {
			continue // nobody watches: neither scaled nor encoded
		}
		if err := e.encode(f, pts, due, r); err != nil {
			if n, ok := v.encErrs.allow(time.Now()); ok {
				v.p.log.Warn("encode error", "rung", e.rung.Name, "err", err, "since_last_log", n)
			}
		}
	}
}

// scheduledKey reports whether a keyframe is due at pts: on the first frame,
// then every GOP by timestamp.
func (v *videoPath) scheduledKey(pts int64) bool {
	if v.gopTicks == 0 {
		v.gopTicks = toTicks(v.p.cfg.GOP, videoTimeBase)
		v.encErrs.every = 5 * time.Second
	}
	if !v.haveKey || pts < v.nextKey-2*v.gopTicks {
		v.haveKey = true
		v.nextKey = pts + v.gopTicks
		return true
	}
	if pts < v.nextKey {
		return false
	}
	for v.nextKey <= pts {
		v.nextKey += v.gopTicks
	}
	return true
}

// tick publishes every rung's per-second gauges, counts paused time and
// retunes running encoders to their viewers.
func (v *videoPath) tick(name string, now time.Time, elapsed time.Duration) {
	for _, e := range v.rungs {
		e.tick(name, elapsed)
		e.tickViewers(v.p.log, now)
		if e.vp8 != nil {
			e.vp8.tick(name, elapsed)
			e.vp8.tickViewers(v.p.log, now)
		}
	}
}
