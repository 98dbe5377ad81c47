package transcode

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/asticode/go-astiav"

	"github.com/mutstream/mutstream/stream"
)

// inputPadding is FFmpeg's AV_INPUT_BUFFER_PADDING_SIZE: decoders may read
// this far past a packet's end.
const inputPadding = 64

var zeroPadding [inputPadding]byte

// decoder turns one track's packets into frames. It reuses one packet and
// one frame; the frame returned by receive is valid until the next call.
type decoder struct {
	cc    *astiav.CodecContext
	pkt   *astiav.Packet
	frame *astiav.Frame
	tb    astiav.Rational
	buf   []byte

	hw  *hwDecode    // NVDEC state; nil on the CPU (hwaccel.go)
	log *slog.Logger // for NVDEC notices; may be nil
}

// openDecoder opens FFmpeg's decoder named by t.Codec on the CPU.
func openDecoder(t stream.Track) (d *decoder, err error) {
	return openDecoderOn(t, false, nil)
}

// openDecoderOn opens FFmpeg's decoder named by t.Codec, with FFmpeg's cuda
// hwaccel (NVDEC) when cuda; its frames are downloaded to the host.
func openDecoderOn(t stream.Track, cuda bool, log *slog.Logger) (d *decoder, err error) {
	codec := astiav.FindDecoderByName(string(t.Codec))
	if codec == nil {
		return nil, fmt.Errorf("%w: no FFmpeg decoder named %q", ErrUnsupportedCodec, t.Codec)
	}
	d = &decoder{log: log}
	defer func() {
		if err != nil {
			d.close()
			d = nil
		}
	}()
	if d.cc = tracked(astiav.AllocCodecContext(codec)); d.cc == nil {
		return d, fmt.Errorf("decoder %s: %w", t.Codec, ErrFFmpeg)
	}
	switch t.Kind {
	case stream.KindVideo:
		d.tb = videoTimeBase
		if t.Codec == stream.CodecRawVideo {
			pf := astiav.FindPixelFormatByName(t.PixelFormat)
			if pf == astiav.PixelFormatNone || t.Width <= 0 || t.Height <= 0 {
				return d, fmt.Errorf("%w: rawvideo needs a pixel format and a size (got %q %dx%d)",
					ErrUnsupportedCodec, t.PixelFormat, t.Width, t.Height)
			}
			d.cc.SetPixelFormat(pf)
			d.cc.SetWidth(t.Width)
			d.cc.SetHeight(t.Height)
		}
	case stream.KindAudio:
		if t.SampleRate <= 0 || t.Channels <= 0 {
			return d, fmt.Errorf("%w: audio %s needs a sample rate and channels", ErrUnsupportedCodec, t.Codec)
		}
		d.tb = astiav.NewRational(1, t.SampleRate)
		d.cc.SetSampleRate(t.SampleRate)
		d.cc.SetChannelLayout(defaultLayout(t.Channels))
		if t.Codec == stream.CodecPCMS16LE {
			d.cc.SetSampleFormat(astiav.SampleFormatS16)
		}
		if len(t.Extradata) > 0 {
			if err := d.cc.SetExtraData(t.Extradata); err != nil {
				return d, fmt.Errorf("decoder %s: extradata: %w", t.Codec, err)
			}
		}
	}
	d.cc.SetTimeBase(d.tb)
	if cuda {
		if t.Kind != stream.KindVideo {
			return d, fmt.Errorf("decoder %s: NVDEC decodes video only", t.Codec)
		}
		if err := d.useCUDA(codec); err != nil {
			return d, err
		}
		if d.hw.host, err = allocFrame(); err != nil {
			return d, err
		}
	}
	if err := d.cc.Open(codec, nil); err != nil {
		return d, fmt.Errorf("open decoder %s: %w", t.Codec, err)
	}
	if d.pkt, err = allocPacket(); err != nil {
		return d, err
	}
	if d.frame, err = allocFrame(); err != nil {
		return d, err
	}
	return d, nil
}

// send hands one packet to the decoder; its data is copied.
func (d *decoder) send(p *stream.Packet) error {
	d.pkt.Unref()
	d.buf = append(append(d.buf[:0], p.Data...), zeroPadding[:]...)
	if err := d.pkt.FromData(d.buf); err != nil {
		return fmt.Errorf("packet from data: %w", err)
	}
	d.pkt.SetSize(len(p.Data))
	d.pkt.SetPts(toTicks(p.PTS, d.tb))
	d.pkt.SetDts(toTicks(p.DTS, d.tb))
	if p.Keyframe {
		d.pkt.SetFlags(d.pkt.Flags().Add(astiav.PacketFlagKey))
	}
	err := d.cc.SendPacket(d.pkt)
	d.pkt.Unref()
	return err
}

// receive returns the next decoded frame, or (nil, nil) when the decoder
// needs more input. On NVDEC it is a CUDA frame in device memory: host
// gives the host frame.
func (d *decoder) receive() (*astiav.Frame, error) {
	d.frame.Unref()
	if err := d.cc.ReceiveFrame(d.frame); err != nil {
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return nil, nil
		}
		return nil, err
	}
	return d.frame, nil
}

// host returns f, a frame receive returned, in host memory: a CUDA frame
// downloaded, any other as it is.
func (d *decoder) host(f *astiav.Frame) (*astiav.Frame, error) {
	if d.hw == nil {
		return f, nil
	}
	return d.download(f)
}

func (d *decoder) close() {
	if d == nil {
		return
	}
	d.closeHW()
	free(d.frame)
	free(d.pkt)
	free(d.cc)
	d.frame, d.pkt, d.cc = nil, nil, nil
}

// defaultLayout returns FFmpeg's usual layout for n channels.
func defaultLayout(n int) astiav.ChannelLayout {
	switch n {
	case 1:
		return astiav.ChannelLayoutMono
	case 3:
		return astiav.ChannelLayout2Point1
	case 4:
		return astiav.ChannelLayoutQuad
	case 5:
		return astiav.ChannelLayout5Point0Back
	case 6:
		return astiav.ChannelLayout5Point1Back
	case 7:
		return astiav.ChannelLayout6Point1
	case 8:
		return astiav.ChannelLayout7Point1
	default:
		return astiav.ChannelLayoutStereo
	}
}
