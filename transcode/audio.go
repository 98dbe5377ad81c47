package transcode

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/asticode/go-astiav"

	"github.com/mutstream/mutstream/stream"
)

const (
	opusRate      = 48000
	opusFrameSize = 960 // 20 ms at 48 kHz
)

var opusTimeBase = astiav.NewRational(1, opusRate)

// audioEncoder turns decoded audio frames into 20 ms Opus packets: a filter
// graph resamples to 48 kHz stereo float and cuts 960-sample frames (what
// swresample plus an audio FIFO would do; go-astiav 0.16 wraps neither),
// then libopus encodes them.
type audioEncoder struct {
	feed *stream.Feed
	cc   *astiav.CodecContext
	pkt  *astiav.Packet
	out  *astiav.Frame

	graph      *astiav.FilterGraph
	src, sink  *astiav.FilterContext
	graphKey   string
	srcTB      astiav.Rational
	sinkTB     astiav.Rational
	nextPts    int64 // source time base, for frames without a timestamp
	hasNextPts bool
}

func newAudioEncoder(feed *stream.Feed, bitrate int) (a *audioEncoder, err error) {
	codec := astiav.FindEncoderByName("libopus")
	if codec == nil {
		return nil, fmt.Errorf("%w: FFmpeg has no libopus encoder", ErrUnsupportedCodec)
	}
	a = &audioEncoder{feed: feed}
	defer func() {
		if err != nil {
			a.close()
			a = nil
		}
	}()
	if a.cc = tracked(astiav.AllocCodecContext(codec)); a.cc == nil {
		return a, fmt.Errorf("libopus: %w", ErrFFmpeg)
	}
	a.cc.SetSampleRate(opusRate)
	a.cc.SetSampleFormat(astiav.SampleFormatFlt)
	a.cc.SetChannelLayout(astiav.ChannelLayoutStereo)
	a.cc.SetBitRate(int64(bitrate))
	a.cc.SetTimeBase(opusTimeBase)
	if err := a.cc.Open(codec, nil); err != nil {
		return a, fmt.Errorf("open libopus: %w", err)
	}
	if a.pkt, err = allocPacket(); err != nil {
		return a, err
	}
	if a.out, err = allocFrame(); err != nil {
		return a, err
	}
	return a, nil
}

// encode resamples and encodes one decoded frame whose timestamps are in tb.
func (a *audioEncoder) encode(f *astiav.Frame, tb astiav.Rational) error {
	if err := a.ensureGraph(f, tb); err != nil {
		return err
	}
	pts := f.Pts()
	if pts == astiav.NoPtsValue && a.hasNextPts {
		pts = a.nextPts
		f.SetPts(pts)
	}
	a.nextPts, a.hasNextPts = pts+int64(f.NbSamples()), pts != astiav.NoPtsValue
	if err := a.src.BuffersrcAddFrame(f, astiav.NewBuffersrcFlags(astiav.BuffersrcFlagKeepRef)); err != nil {
		return fmt.Errorf("audio filter: %w", err)
	}
	for {
		a.out.Unref()
		if err := a.sink.BuffersinkGetFrame(a.out, astiav.NewBuffersinkFlags()); err != nil {
			if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
				return nil
			}
			return fmt.Errorf("audio filter: %w", err)
		}
		if a.out.NbSamples() != opusFrameSize {
			continue // only a flush yields a short frame
		}
		if p := a.out.Pts(); p != astiav.NoPtsValue {
			a.out.SetPts(astiav.RescaleQ(p, a.sinkTB, opusTimeBase))
		}
		if err := a.cc.SendFrame(a.out); err != nil {
			return fmt.Errorf("opus encode: %w", err)
		}
		if err := drainPackets(a.cc, a.pkt, a.write); err != nil {
			return fmt.Errorf("opus encode: %w", err)
		}
	}
}

func (a *audioEncoder) write(pkt *astiav.Packet) {
	pts := toDuration(pkt.Pts(), opusTimeBase)
	a.feed.Write(&stream.Packet{
		Kind:     stream.KindAudio,
		PTS:      pts,
		DTS:      pts,
		Duration: 20 * time.Millisecond,
		Keyframe: true,
		Data:     pkt.Data(),
	})
}

// ensureGraph builds the resampling graph for f's format, rebuilding it
// when the source format changes.
func (a *audioEncoder) ensureGraph(f *astiav.Frame, tb astiav.Rational) error {
	layout := f.ChannelLayout()
	ls := layout.String()
	if !layout.Valid() || ls == "" || strings.Contains(ls, "channels") {
		ls = defaultLayout(layout.NbChannels()).String()
	}
	key := fmt.Sprintf("%d/%s/%s/%s", f.SampleRate(), f.SampleFormat().Name(), ls, tb)
	if a.graph != nil && key == a.graphKey {
		return nil
	}
	free(a.graph)
	a.graph, a.src, a.sink = nil, nil, nil
	if a.graph = tracked(astiav.AllocFilterGraph()); a.graph == nil {
		return fmt.Errorf("audio filter graph: %w", ErrFFmpeg)
	}
	var err error
	if a.src, err = a.graph.NewFilterContext(astiav.FindFilterByName("abuffer"), "in", astiav.FilterArgs{
		"sample_rate":    strconv.Itoa(f.SampleRate()),
		"sample_fmt":     f.SampleFormat().Name(),
		"channel_layout": ls,
		"time_base":      tb.String(),
	}); err != nil {
		return fmt.Errorf("audio filter source (%s): %w", key, err)
	}
	if a.sink, err = a.graph.NewFilterContext(astiav.FindFilterByName("abuffersink"), "out", nil); err != nil {
		return fmt.Errorf("audio filter sink: %w", err)
	}
	outputs := astiav.AllocFilterInOut()
	if outputs == nil {
		return fmt.Errorf("audio filter in/out: %w", ErrFFmpeg)
	}
	defer outputs.Free()
	inputs := astiav.AllocFilterInOut()
	if inputs == nil {
		return fmt.Errorf("audio filter in/out: %w", ErrFFmpeg)
	}
	defer inputs.Free()
	outputs.SetName("in")
	outputs.SetFilterContext(a.src)
	outputs.SetPadIdx(0)
	outputs.SetNext(nil)
	inputs.SetName("out")
	inputs.SetFilterContext(a.sink)
	inputs.SetPadIdx(0)
	inputs.SetNext(nil)
	desc := fmt.Sprintf("aresample=%d,aformat=sample_fmts=flt:channel_layouts=stereo,asetnsamples=n=%d:p=0", opusRate, opusFrameSize)
	if err := a.graph.Parse(desc, inputs, outputs); err != nil {
		return fmt.Errorf("audio filter parse: %w", err)
	}
	if err := a.graph.Configure(); err != nil {
		return fmt.Errorf("audio filter configure: %w", err)
	}
	a.sinkTB = a.sink.Inputs()[0].TimeBase()
	a.graphKey = key
	a.srcTB = tb
	return nil
}

func (a *audioEncoder) close() {
	if a == nil {
		return
	}
	free(a.graph)
	free(a.out)
	free(a.pkt)
	free(a.cc)
	a.graph, a.out, a.pkt, a.cc = nil, nil, nil, nil
}
