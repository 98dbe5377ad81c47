package signaling

import (
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// fakeVP8 is a frame of the fake pipeline's VP8 rungs: its number, then
// size bytes of filler.
func fakeVP8(n int, key bool, size int) []byte {
	b := make([]byte, 8+size)
	binary.BigEndian.PutUint32(b, uint32(n))
	if key {
		b[4] = 1
	}
	return b
}

// vp8Viewer is a pion WHEP viewer that offers VP8 only and puts the frames
// back together with pion's VP8 depacketizer, checking that picture IDs
// run on without a jump.
type vp8Viewer struct {
	pc *webrtc.PeerConnection
	dc *webrtc.DataChannel

	mu       sync.Mutex
	frames   []uint32 // the numbers of the frames put together
	cur      []byte
	pid      int // the last frame's picture ID, -1 before the first
	jumps    int // picture IDs not one more than the previous
	mime     string
	messages []string
	location string
}

func dialVP8(t *testing.T, url string) *vp8Viewer {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
		RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}}}, PayloadType: 96}, webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := webrtc.NewICEUDPMux(nil, conn)
	se := webrtc.SettingEngine{}
	se.SetICEUDPMux(mux)
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	v := &vp8Viewer{pc: pc, pid: -1}
	t.Cleanup(func() {
		_ = pc.Close()
		_ = mux.Close()
	})
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	if v.dc, err = pc.CreateDataChannel("control", nil); err != nil {
		t.Fatal(err)
	}
	v.dc.OnMessage(func(m webrtc.DataChannelMessage) {
		v.mu.Lock()
		v.messages = append(v.messages, string(m.Data))
		v.mu.Unlock()
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() != webrtc.RTPCodecTypeVideo {
			for {
				if _, _, err := tr.ReadRTP(); err != nil {
					return
				}
			}
		}
		v.mu.Lock()
		v.mime = tr.Codec().MimeType
		v.mu.Unlock()
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			v.take(p.Payload, p.Marker)
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	resp, err := http.Post(url, "application/sdp", strings.NewReader(pc.LocalDescription().SDP))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("WHEP POST: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "H264") {
		t.Fatalf("the answer to a VP8-only offer names H.264:\n%s", body)
	}
	v.location = resp.Header.Get("Location")
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		t.Fatal(err)
	}
	return v
}

// take adds one payload to the frame being put together.
func (v *vp8Viewer) take(pl []byte, marker bool) {
	var p codecs.VP8Packet
	data, err := p.Unmarshal(pl)
	v.mu.Lock()
	defer v.mu.Unlock()
	if err != nil {
		v.jumps++
		return
	}
	if p.S == 1 && p.PID == 0 {
		if v.pid >= 0 && int(p.PictureID) != (v.pid+1)&0x7fff {
			v.jumps++
		}
		v.pid = int(p.PictureID)
		v.cur = v.cur[:0]
	}
	v.cur = append(v.cur, data...)
	if marker && len(v.cur) >= 8 {
		v.frames = append(v.frames, binary.BigEndian.Uint32(v.cur))
	}
}

func (v *vp8Viewer) state() (frames, jumps int, mime string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.frames), v.jumps, v.mime
}

func (v *vp8Viewer) said(typ, rung string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, m := range v.messages {
		var msg map[string]any
		if json.Unmarshal([]byte(m), &msg) == nil && msg["type"] == typ && msg["rung"] == rung {
			return true
		}
	}
	return false
}

// TestWHEPVP8ViewerSwitches: a viewer whose offer has VP8 only is answered
// with VP8, reads the VP8 feeds (the H.264 ones get no reader), is listed
// and counted with its codec, and across a switch by hand from one VP8
// rung to the other gets whole frames whose picture IDs never jump.
func TestWHEPVP8ViewerSwitches(t *testing.T) {
	env := newTestEnv(t, DefaultConfig())
	if _, err := env.hub.Publish("cam", "test", []stream.Track{{Kind: stream.KindVideo, Codec: stream.CodecVP8}}, nil); err != nil {
		t.Fatal(err)
	}
	st, _ := env.hub.Lookup("cam")
	waitFor(t, 5*time.Second, "the VP8 ladder", func() bool { return len(st.RungsFor(stream.CodecVP8)) == 2 })
	v := dialVP8(t, env.http.URL+"/whep/cam?rung=lo")
	waitFor(t, 10*time.Second, "VP8 frames", func() bool { n, _, _ := v.state(); return n > 20 })
	if _, _, mime := v.state(); !strings.EqualFold(mime, webrtc.MimeTypeVP8) {
		t.Fatalf("video arrives as %q", mime)
	}
	hiV, _ := st.RungFor("hi", stream.CodecVP8)
	loV, _ := st.RungFor("lo", stream.CodecVP8)
	hiH, _ := st.Rung("hi")
	loH, _ := st.Rung("lo")
	if loV.Readers() != 1 || hiH.Readers()+loH.Readers() != 0 {
		t.Fatalf("readers: vp8 lo %d, h264 hi %d lo %d; want the VP8 feed only", loV.Readers(), hiH.Readers(), loH.Readers())
	}
	if got := testutil.ToFloat64(metrics.ViewersByCodec.WithLabelValues("cam", "vp8")); got != 1 {
		t.Fatalf("mediad_viewers_by_codec{codec=vp8} %v, want 1", got)
	}
	infos := env.srv.Viewers("cam")
	if len(infos) != 1 || infos[0].Codec != "vp8" {
		t.Fatalf("the API lists %+v, want one vp8 viewer", infos)
	}
	waitFor(t, 5*time.Second, "the control channel", func() bool { return v.dc.ReadyState() == webrtc.DataChannelStateOpen })
	if err := v.dc.SendText(`{"type":"rung","rung":"hi"}`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the switch to hi", func() bool { return v.said("rung", "hi") && hiV.Readers() == 1 && loV.Readers() == 0 })
	n, _, _ := v.state()
	waitFor(t, 5*time.Second, "frames from hi", func() bool { m, _, _ := v.state(); return m > n+20 })
	if _, jumps, _ := v.state(); jumps != 0 {
		t.Fatalf("%d picture ID jumps or unreadable payloads", jumps)
	}
	v.mu.Lock()
	frames := append([]uint32(nil), v.frames...)
	v.mu.Unlock()
	// In order (at the switch, the first frame of hi may be the instant
	// of the last one of lo: two renditions of one picture).
	for i := 1; i < len(frames); i++ {
		if frames[i] < frames[i-1] {
			t.Fatalf("frame %d after frame %d", frames[i], frames[i-1])
		}
	}
	_ = v.pc.Close()
	waitFor(t, 15*time.Second, "the viewer gone", func() bool {
		return env.srv.Sessions() == 0 && testutil.ToFloat64(metrics.ViewersByCodec.WithLabelValues("cam", "vp8")) == 0
	})
}

// TestWHEPAnswerNamesOneCodec: an offer with H.264 and VP8 is answered
// with the first of webrtc.viewer_codecs only, at the offer's payload
// types.
func TestWHEPAnswerNamesOneCodec(t *testing.T) {
	for _, tc := range []struct {
		prefs     []stream.Codec
		want, not string
		wantPT    string
	}{
		{[]stream.Codec{stream.CodecH264, stream.CodecVP8}, "H264/90000", "VP8/90000", "121"},
		{[]stream.Codec{stream.CodecVP8, stream.CodecH264}, "VP8/90000", "H264/90000", "120"},
	} {
		cfg := DefaultConfig()
		cfg.ViewerCodecs = tc.prefs
		env := newTestEnv(t, cfg)
		if _, err := env.hub.Publish("cam", "test", []stream.Track{{Kind: stream.KindVideo, Codec: stream.CodecVP8}}, nil); err != nil {
			t.Fatal(err)
		}
		st, _ := env.hub.Lookup("cam")
		waitFor(t, 5*time.Second, "the ladder", func() bool { return len(st.Codecs()) == 2 })
		// Payload types other than mediad's own.
		offer := strings.NewReplacer("SAVPF 96 102", "SAVPF 120 121", ":96 ", ":120 ", ":102 ", ":121 ", "\n", "\r\n").Replace(chromeLikeOffer)
		resp, body := env.post(t, "/whep/cam", "application/sdp", offer)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("%v: %d %s", tc.prefs, resp.StatusCode, body)
		}
		if !strings.Contains(body, "a=rtpmap:"+tc.wantPT+" "+tc.want) || strings.Contains(body, tc.not) {
			t.Fatalf("%v: the answer does not name %s alone at %s:\n%s", tc.prefs, tc.want, tc.wantPT, body)
		}
	}
}
