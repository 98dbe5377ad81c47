package rtmp

import (
	"bytes"
	"testing"
	"time"

	"github.com/mutstream/mutstream/stream"
)

func TestPublishH264AAC(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	e := newEnv(t, Config{})
	p := startFFmpeg(t, e.url("live", "cam1", goodToken), pubOpts{secs: 3, video: true, audio: "aac", size: "640x360"})
	out, err := p.wait(t, 30*time.Second)
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	recs := e.recorders("cam1")
	if len(recs) != 1 {
		t.Fatalf("publications = %d, want 1", len(recs))
	}
	r := recs[0]
	waitFor(t, 5*time.Second, "publication end", func() bool {
		select {
		case <-r.pub.Done():
			return true
		default:
			return false
		}
	})
	vt, ok := r.pub.Track(stream.KindVideo)
	if !ok || vt.Codec != stream.CodecH264 || vt.Width != 640 || vt.Height != 360 {
		t.Errorf("video track = %+v", vt)
	}
	if vt.FrameRate != 30 {
		t.Errorf("frame rate = %v, want 30", vt.FrameRate)
	}
	at, ok := r.pub.Track(stream.KindAudio)
	if !ok || at.Codec != stream.CodecAAC || at.SampleRate != 44100 || at.Channels != 1 || len(at.Extradata) < 2 {
		t.Errorf("audio track = %+v", at)
	}
	pkts := r.snapshot()
	var video, audio, keys int
	reordered := false
	for _, pk := range pkts {
		switch pk.Kind {
		case stream.KindVideo:
			video++
			if pk.PTS != pk.DTS {
				reordered = true
			}
			if pk.PTS < pk.DTS {
				t.Errorf("PTS %v < DTS %v", pk.PTS, pk.DTS)
			}
			if !bytes.HasPrefix(pk.Data, []byte{0, 0, 0, 1}) {
				t.Fatalf("video packet is not Annex-B: % x", pk.Data[:min(8, len(pk.Data))])
			}
			if pk.Keyframe {
				keys++
				checkKeyframe(t, pk.Data)
			}
		case stream.KindAudio:
			audio++
			if len(pk.Data) == 0 || pk.Duration <= 0 {
				t.Errorf("audio packet %+v", pk)
			}
		default:
			t.Errorf("packet of kind %v", pk.Kind)
		}
	}
	t.Logf("video %d (keyframes %d), audio %d", video, keys, audio)
	if video < 60 || audio < 80 || keys < 2 {
		t.Errorf("video %d, keyframes %d, audio %d: too few", video, keys, audio)
	}
	if !pkts[0].Keyframe || pkts[0].Kind != stream.KindVideo && !firstVideoIsKey(pkts) {
		t.Errorf("first video packet is not a keyframe")
	}
	if !reordered {
		t.Errorf("B-frame input gave no packet with PTS != DTS")
	}
}

func firstVideoIsKey(pkts []*stream.Packet) bool {
	for _, p := range pkts {
		if p.Kind == stream.KindVideo {
			return p.Keyframe
		}
	}
	return false
}

// checkKeyframe asserts an Annex-B keyframe carries SPS and PPS before its
// IDR slice.
func checkKeyframe(t *testing.T, data []byte) {
	t.Helper()
	var types []byte
	for _, nalu := range bytes.Split(data, []byte{0, 0, 0, 1})[1:] {
		if len(nalu) > 0 {
			types = append(types, nalu[0]&0x1f)
		}
	}
	sps, pps, idr := -1, -1, -1
	for i, ty := range types {
		switch {
		case ty == 7 && sps < 0:
			sps = i
		case ty == 8 && pps < 0:
			pps = i
		case ty == 5 && idr < 0:
			idr = i
		}
	}
	if sps < 0 || pps < 0 || idr < 0 || !(sps < pps && pps < idr) {
		t.Errorf("keyframe NALU types %v: want SPS, PPS before IDR", types)
	}
}
