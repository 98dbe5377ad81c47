package signaling

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

// writeSDPFrag writes f as an sdpfrag that parseSDPFrag reads back as f:
// the credentials, then each candidate after the a=mid or m-lines that
// give it its mid, or its m-line index and no mid.
func writeSDPFrag(f sdpFrag) string {
	var b strings.Builder
	if f.ufrag != "" {
		fmt.Fprintf(&b, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", f.ufrag, f.pwd)
	}
	idx, inMedia, mid := uint16(0), false, ""
	for _, c := range f.cands {
		switch {
		case c.SDPMid != nil:
			if *c.SDPMid != mid {
				mid = *c.SDPMid
				fmt.Fprintf(&b, "a=mid:%s\r\n", mid)
			}
		case c.SDPMLineIndex != nil:
			for idx < *c.SDPMLineIndex || !inMedia && *c.SDPMLineIndex > 0 {
				b.WriteString("m=video 9 UDP/TLS/RTP/SAVPF 96\r\n")
				if inMedia {
					idx++
				}
				inMedia, mid = true, ""
			}
			if mid != "" {
				b.WriteString("a=mid:\r\n")
				mid = ""
			}
		}
		fmt.Fprintf(&b, "a=%s\r\n", c.Candidate)
	}
	return b.String()
}

// sameFrag reports whether two fragments hold the same credentials and
// candidates.
func sameFrag(a, b sdpFrag) bool {
	if a.ufrag != b.ufrag || a.pwd != b.pwd || len(a.cands) != len(b.cands) {
		return false
	}
	str := func(c webrtc.ICECandidateInit) string {
		s := c.Candidate + "|"
		if c.SDPMid != nil {
			s += "mid=" + *c.SDPMid
		}
		if c.SDPMLineIndex != nil {
			s += fmt.Sprintf("idx=%d", *c.SDPMLineIndex)
		}
		return s
	}
	for i := range a.cands {
		if str(a.cands[i]) != str(b.cands[i]) {
			return false
		}
	}
	return true
}

// FuzzSDPFrag feeds the trickle/ICE-restart body parser arbitrary bytes,
// seeded with the fragments of real offers (through localFrag, the writer
// the server answers an ICE restart with) and hand-made edge cases. A
// refusal is a 400 with a message; an accepted fragment has both
// credentials or neither, valid ICE characters, at most one candidate per
// line, each candidate with exactly one of mid and m-line index, and it
// reads back the same after being written out again.
func FuzzSDPFrag(f *testing.F) {
	for name, offer := range realOffers(f) {
		frag, err := localFrag(&webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)})
		if err != nil {
			f.Fatalf("%s: localFrag: %v", name, err)
		}
		parsed, err := parseSDPFrag([]byte(frag))
		if err != nil {
			f.Fatalf("%s: the fragment localFrag wrote is refused: %v\n%s", name, err, frag)
		}
		if want := strings.Count(string(offer), "a=candidate:"); len(parsed.cands) != want {
			f.Fatalf("%s: %d candidates read back, the offer has %d", name, len(parsed.cands), want)
		}
		f.Add([]byte(frag))
		f.Add([]byte(strings.ReplaceAll(frag, "\r\n", "\n")))
	}
	f.Add([]byte("a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n"))
	f.Add([]byte("a=candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host\r\na=end-of-candidates\r\n"))
	f.Add([]byte("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=candidate:1 1 udp 1 ::1 9 typ host\r\n"))
	f.Add([]byte("a=ice-ufrag:ab\r\n"))
	f.Add([]byte("x\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		frag, err := parseSDPFrag(body)
		if err != nil {
			if st := statusOf(err); st != http.StatusBadRequest || err.Error() == "" {
				t.Fatalf("refusal with status %d and message %q", st, err)
			}
			return
		}
		if (frag.ufrag == "") != (frag.pwd == "") {
			t.Fatalf("ufrag %q with pwd %q", frag.ufrag, frag.pwd)
		}
		if frag.ufrag != "" && (!iceChars(frag.ufrag, 4) || !iceChars(frag.pwd, 22)) {
			t.Fatalf("accepted bad credentials %q %q", frag.ufrag, frag.pwd)
		}
		if lines := strings.Count(string(body), "\n") + 1; len(frag.cands) > lines {
			t.Fatalf("%d candidates from %d lines", len(frag.cands), lines)
		}
		for _, c := range frag.cands {
			if !strings.HasPrefix(c.Candidate, "candidate:") || (c.SDPMid == nil) == (c.SDPMLineIndex == nil) {
				t.Fatalf("candidate %+v", c)
			}
		}
		text := writeSDPFrag(frag)
		again, err := parseSDPFrag([]byte(text))
		if err != nil {
			t.Fatalf("written back, refused: %v\n%q", err, text)
		}
		if !sameFrag(frag, again) {
			t.Fatalf("written back as %q, read %+v, want %+v", text, again, frag)
		}
	})
}
