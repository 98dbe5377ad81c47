package transcode

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/asticode/go-astiav"

	"github.com/mutstream/mutstream/stream"
)

// DemoStreamName is the name the demo publishes under.
const DemoStreamName = "demo"

var registerDevices sync.Once

// Demo publishes a generated test pattern and tone (FFmpeg's lavfi) as the
// stream "demo", paced in real time, through the same pipeline as any
// publisher.
type Demo struct {
	cfg DemoConfig
	log *slog.Logger
	pub *stream.Publication

	in      *lavfiInput
	stop    chan struct{}
	done    chan struct{}
	stopper sync.Once
	closer  sync.Once
}

// lavfiInput is one opened lavfi graph.
type lavfiInput struct {
	fc         *astiav.FormatContext
	pkt        *astiav.Packet
	video      int // stream index
	audio      int // stream index, -1 when none
	vtb, atb   astiav.Rational
	tracks     []stream.Track
	videoFrame time.Duration
}

// StartDemo opens the generator and publishes it on hub.
func StartDemo(hub *stream.Hub, cfg DemoConfig, log *slog.Logger) (*Demo, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	in, err := openLavfi(cfg)
	if err != nil {
		return nil, err
	}
	d := &Demo{cfg: cfg, log: log.With("component", "demo"), in: in, stop: make(chan struct{}), done: make(chan struct{})}
	d.pub, err = hub.Publish(DemoStreamName, "demo", in.tracks, d.kick)
	if err != nil {
		in.close()
		return nil, fmt.Errorf("publish demo: %w", err)
	}
	go d.run()
	return d, nil
}

// Close stops the generator, waits for it and ends the publication.
func (d *Demo) Close() {
	d.closer.Do(func() {
		d.kick()
		<-d.done
		d.pub.Close()
	})
}

func (d *Demo) kick() { d.stopper.Do(func() { close(d.stop) }) }

func (d *Demo) run() {
	defer close(d.done)
	defer func() { d.in.close() }()
	start := time.Now()
	var offset time.Duration // added to the timestamps of each new loop
	var end time.Duration
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		pkt, err := d.in.read()
		if errors.Is(err, astiav.ErrEof) {
			// The generator ended: start it again after the last packet.
			d.in.close()
			if d.in, err = openLavfi(d.cfg); err != nil {
				d.log.Error("demo stopped: reopen generator", "err", err)
				d.in = nil
				<-d.stop
				return
			}
			offset = end
			continue
		}
		if err != nil {
			d.log.Error("demo stopped: read generator", "err", err)
			<-d.stop
			return
		}
		if pkt == nil {
			continue
		}
		pkt.PTS += offset
		pkt.DTS += offset
		if e := pkt.PTS + pkt.Duration; e > end {
			end = e
		}
		if wait := time.Until(start.Add(pkt.PTS)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-d.stop:
				return
			case <-timer.C:
			}
		}
		select {
		case <-d.stop:
			return
		default:
		}
		if err := d.pub.WritePacket(pkt); err != nil {
			return // publication ended
		}
	}
}

// openLavfi opens a testsrc2 pattern and a 440 Hz sine through lavfi.
func openLavfi(cfg DemoConfig) (in *lavfiInput, err error) {
	registerDevices.Do(astiav.RegisterAllDevices)
	ifmt := astiav.FindInputFormat("lavfi")
	if ifmt == nil {
		return nil, fmt.Errorf("%w: FFmpeg has no lavfi input (libavdevice)", ErrUnsupportedCodec)
	}
	in = &lavfiInput{audio: -1, video: -1}
	defer func() {
		if err != nil {
			in.close()
			in = nil
		}
	}()
	if in.fc = tracked(astiav.AllocFormatContext()); in.fc == nil {
		return in, fmt.Errorf("lavfi: %w", ErrFFmpeg)
	}
	graph := fmt.Sprintf("testsrc2=size=%dx%d:rate=%d[out0];sine=frequency=440:sample_rate=48000[out1]",
		cfg.Width, cfg.Height, cfg.FPS)
	if err := in.fc.OpenInput(graph, ifmt, nil); err != nil {
		return in, fmt.Errorf("open lavfi %q: %w", graph, err)
	}
	if err := in.fc.FindStreamInfo(nil); err != nil {
		return in, fmt.Errorf("lavfi stream info: %w", err)
	}
	for _, s := range in.fc.Streams() {
		cp := s.CodecParameters()
		switch cp.MediaType() {
		case astiav.MediaTypeVideo:
			in.video, in.vtb = s.Index(), s.TimeBase()
			in.videoFrame = time.Second / time.Duration(cfg.FPS)
			in.tracks = append(in.tracks, stream.Track{
				Kind: stream.KindVideo, Codec: stream.Codec(cp.CodecID().Name()),
				Width: cp.Width(), Height: cp.Height(), FrameRate: float64(cfg.FPS),
				PixelFormat: cp.PixelFormat().Name(),
			})
		case astiav.MediaTypeAudio:
			in.audio, in.atb = s.Index(), s.TimeBase()
			in.tracks = append(in.tracks, stream.Track{
				Kind: stream.KindAudio, Codec: stream.Codec(cp.CodecID().Name()),
				SampleRate: cp.SampleRate(), Channels: cp.ChannelLayout().NbChannels(),
			})
		}
	}
	if in.video < 0 {
		return in, fmt.Errorf("lavfi %q: %w", graph, ErrNoVideo)
	}
	if in.pkt, err = allocPacket(); err != nil {
		return in, err
	}
	return in, nil
}

// read returns the next packet, or nil for a packet of no known stream.
func (in *lavfiInput) read() (*stream.Packet, error) {
	in.pkt.Unref()
	if err := in.fc.ReadFrame(in.pkt); err != nil {
		return nil, err
	}
	var kind stream.Kind
	var tb astiav.Rational
	switch in.pkt.StreamIndex() {
	case in.video:
		kind, tb = stream.KindVideo, in.vtb
	case in.audio:
		kind, tb = stream.KindAudio, in.atb
	default:
		return nil, nil
	}
	pts := toDuration(in.pkt.Pts(), tb)
	dur := toDuration(in.pkt.Duration(), tb)
	if kind == stream.KindVideo && dur <= 0 {
		dur = in.videoFrame
	}
	return &stream.Packet{
		Kind: kind, PTS: pts, DTS: pts, Duration: dur,
		Keyframe: true, // raw video and PCM: every packet stands alone
		Data:     in.pkt.Data(),
	}, nil
}

func (in *lavfiInput) close() {
	if in == nil {
		return
	}
	free(in.pkt)
	in.pkt = nil
	if in.fc != nil {
		in.fc.CloseInput()
		free(in.fc)
		in.fc = nil
	}
}
