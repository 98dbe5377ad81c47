package signaling

import (
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/rtp"
	"github.com/pion/transport/v5/vnet"
	"github.com/pion/webrtc/v4"
)

// rxFrame is one video frame as the receiver saw it, keyed by its RTP
// timestamp.
type rxFrame struct {
	ts         int64
	head, tail int64 // sequence numbers of its first and marked packets, -1 unknown
	key        bool
	seqs       map[int64]struct{}
	first      time.Time // when its first packet arrived
	done       time.Time // when its last missing packet arrived; zero = never
}

// unwrapper extends 16- or 32-bit RTP counters to int64.
type unwrapper struct {
	max  int64
	init bool
}

func (u *unwrapper) unwrap(v int64, bits uint) int64 {
	if !u.init {
		u.init, u.max = true, v
		return v
	}
	span := int64(1) << bits
	d := (v - u.max) & (span - 1)
	if d >= span/2 {
		d -= span
	}
	x := u.max + d
	if x > u.max {
		u.max = x
	}
	return x
}

// frameWatch reads the video track: it reassembles nothing, but records
// which packets of which frame arrived when, so that the test can tell
// when each frame became complete (retransmissions included).
type frameWatch struct {
	mu      sync.Mutex
	seqU    unwrapper
	tsU     unwrapper
	frames  map[int64]*rxFrame
	padding map[int64]struct{}
	bytes   atomic.Int64
}

func newFrameWatch() *frameWatch {
	return &frameWatch{frames: map[int64]*rxFrame{}, padding: map[int64]struct{}{}}
}

func (w *frameWatch) packet(p *rtp.Packet, now time.Time) {
	w.bytes.Add(int64(len(p.Payload) + 12))
	w.mu.Lock()
	defer w.mu.Unlock()
	seq := w.seqU.unwrap(int64(p.SequenceNumber), 16)
	if len(p.Payload) == 0 {
		w.padding[seq] = struct{}{} // a probe packet
		return
	}
	ts := w.tsU.unwrap(int64(p.Timestamp), 32)
	f := w.frames[ts]
	if f == nil {
		f = &rxFrame{ts: ts, head: -1, tail: -1, seqs: map[int64]struct{}{}, first: now}
		w.frames[ts] = f
	}
	if !f.done.IsZero() {
		return
	}
	f.seqs[seq] = struct{}{}
	head := false
	switch t := p.Payload[0] & 0x1f; {
	case t == 24: // STAP-A: the SPS and PPS before an IDR
		head, f.key = true, true
	case t == 28 && len(p.Payload) > 1: // FU-A
		if p.Payload[1]&0x1f == 5 {
			f.key = true
		}
		head = p.Payload[1]&0x80 != 0
	case t >= 1 && t <= 23:
		head, f.key = true, f.key || t == 5
	}
	if head && (f.head < 0 || seq < f.head) {
		f.head = seq
	}
	if p.Marker {
		f.tail = seq
	}
	if f.head < 0 || f.tail < f.head {
		return
	}
	n := 0
	for s := range f.seqs {
		if s >= f.head && s <= f.tail {
			n++
		}
	}
	if int64(n) == f.tail-f.head+1 {
		f.done = now
	}
}

// gaps returns, over the frames shown in [from, to), the longest time
// between two shown frames: a player that shows every complete frame in
// order (waiting for retransmissions), and one that needs an unbroken
// chain since the last IDR (a lost frame stops it until the next IDR; this
// receiver sends no PLI). It also returns how many frames in the window
// never completed.
func (w *frameWatch) gaps(from, to time.Time) (complete, decodable time.Duration, lost int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	all := make([]*rxFrame, 0, len(w.frames))
	for _, f := range w.frames {
		all = append(all, f)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ts < all[j].ts })
	longest := func(shown []time.Time) time.Duration {
		var g time.Duration
		prev := time.Time{}
		for _, t := range shown {
			if !prev.IsZero() && t.After(from) && prev.Before(to) {
				g = max(g, minTime(t, to).Sub(maxTime(prev, from)))
			}
			prev = t
		}
		if !prev.IsZero() && prev.Before(to) {
			g = max(g, to.Sub(maxTime(prev, from)))
		}
		return g
	}
	var shownAll, shownChain []time.Time
	var lastAll, lastChain time.Time
	chain := false
	var prev *rxFrame
	for _, f := range all {
		// A frame lost whole shows as sequence numbers missing between
		// two frames that are not probe padding.
		contiguous := prev != nil && prev.tail >= 0 && f.head >= 0
		if contiguous {
			for s := prev.tail + 1; s < f.head; s++ {
				if _, ok := w.padding[s]; !ok {
					contiguous = false
					break
				}
			}
		}
		prev = f
		if f.done.IsZero() {
			chain = false
			if !f.first.Before(from) && f.first.Before(to) {
				lost++
			}
			continue
		}
		lastAll = maxTime(lastAll, f.done)
		shownAll = append(shownAll, lastAll)
		chain = f.key || (chain && contiguous)
		if chain {
			lastChain = maxTime(lastChain, f.done)
			shownChain = append(shownChain, lastChain)
		}
	}
	return longest(shownAll), longest(shownChain), lost
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// vnetReceiver is a WHEP viewer on the vnet: H.264 and Opus, sending
// transport-wide congestion control feedback, receiver reports and NACKs
// as a browser does.
func vnetReceiver(t *testing.T, nw *vnet.Net, watch *frameWatch) *webrtc.PeerConnection {
	t.Helper()
	me := &webrtc.MediaEngine{}
	fb := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", RTCPFeedback: fb},
		PayloadType: 102,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType:        111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	// A browser gives up on a packet after ten NACKs (libwebrtc's
	// kMaxNackRetries); pion's generator, by default, never does.
	if err := webrtc.ConfigureNackWithOptions(me, ir, []nack.GeneratorOption{nack.GeneratorMaxNacksPerPacket(vnetMaxNacks)}); err != nil {
		t.Fatal(err)
	}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		t.Fatal(err)
	}
	// The transport-cc header extension and the interceptor that sends
	// its feedback.
	if err := webrtc.ConfigureTWCCSender(me, ir); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetNet(nw)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, rr *webrtc.RTPReceiver) {
		// Incoming RTCP must be read for the report interceptor to see
		// the sender reports, whose times the receiver reports echo (the
		// sender's RTT).
		go func() {
			for {
				if _, _, err := rr.ReadRTCP(); err != nil {
					return
				}
			}
		}()
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if tr.Kind() == webrtc.RTPCodecTypeVideo {
				watch.packet(p, time.Now())
			}
		}
	})
	return pc
}

// bottleneck is the link towards the viewer: a token bucket with a queue
// of queueTime at its rate.
type bottleneck struct {
	tbf *vnet.TBFQueue
}

const queueTime = 250 * time.Millisecond

func (b *bottleneck) setRate(bps int) {
	b.tbf.SetRate(bps)
	b.tbf.SetSize(max(int64(bps)/8*int64(queueTime/time.Millisecond)/1000, 15_000))
}

// completedSince returns how many frames became complete after t.
func (w *frameWatch) completedSince(t time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, f := range w.frames {
		if f.done.After(t) {
			n++
		}
	}
	return n
}
