package signaling

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// sdpFrag is an application/trickle-ice-sdpfrag body (RFC 8840).
type sdpFrag struct {
	ufrag, pwd string
	cands      []webrtc.ICECandidateInit
}

// parseSDPFrag reads the ICE credentials and candidates of a fragment.
func parseSDPFrag(body []byte) (sdpFrag, error) {
	var f sdpFrag
	mid := ""
	idx := uint16(0)
	inMedia := false
	for _, line := range strings.Split(string(body), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		if len(line) < 2 || line[1] != '=' {
			return f, &offerError{http.StatusBadRequest, fmt.Sprintf("malformed sdpfrag line %q", oneLine(line))}
		}
		switch {
		case strings.HasPrefix(line, "m="):
			if inMedia {
				idx++
			}
			inMedia = true
			mid = ""
		case strings.HasPrefix(line, "a=mid:"):
			mid = strings.TrimPrefix(line, "a=mid:")
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			f.ufrag = strings.TrimPrefix(line, "a=ice-ufrag:")
		case strings.HasPrefix(line, "a=ice-pwd:"):
			f.pwd = strings.TrimPrefix(line, "a=ice-pwd:")
		case strings.HasPrefix(line, "a=candidate:"):
			c := webrtc.ICECandidateInit{Candidate: strings.TrimPrefix(line, "a=")}
			if mid != "" {
				m := mid
				c.SDPMid = &m
			} else {
				i := idx
				c.SDPMLineIndex = &i
			}
			f.cands = append(f.cands, c)
		}
	}
	if (f.ufrag == "") != (f.pwd == "") {
		return f, &offerError{http.StatusBadRequest, "sdpfrag has ice-ufrag without ice-pwd or the reverse"}
	}
	if f.ufrag != "" && (!iceChars(f.ufrag, 4) || !iceChars(f.pwd, 22)) {
		return f, &offerError{http.StatusBadRequest, "ice-ufrag must be 4-256 and ice-pwd 22-256 ICE characters (RFC 8839)"}
	}
	return f, nil
}

// localFrag writes the server's ICE credentials and candidates from its
// local description as an sdpfrag: the answer to an ICE restart.
func localFrag(desc *webrtc.SessionDescription) (string, error) {
	var sd sdp.SessionDescription
	if err := sd.Unmarshal([]byte(desc.SDP)); err != nil {
		return "", err
	}
	var b strings.Builder
	ufrag, pwd := attr(sd.Attributes, "ice-ufrag"), attr(sd.Attributes, "ice-pwd")
	for _, md := range sd.MediaDescriptions {
		if ufrag == "" {
			ufrag, pwd = attr(md.Attributes, "ice-ufrag"), attr(md.Attributes, "ice-pwd")
		}
	}
	fmt.Fprintf(&b, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", ufrag, pwd)
	for _, md := range sd.MediaDescriptions {
		fmt.Fprintf(&b, "m=%s 9 %s %s\r\n", md.MediaName.Media, strings.Join(md.MediaName.Protos, "/"), strings.Join(md.MediaName.Formats, " "))
		fmt.Fprintf(&b, "a=mid:%s\r\n", attr(md.Attributes, "mid"))
		for _, a := range md.Attributes {
			if a.Key == "candidate" {
				fmt.Fprintf(&b, "a=candidate:%s\r\n", a.Value)
			}
		}
		b.WriteString("a=end-of-candidates\r\n")
	}
	return b.String(), nil
}

func attr(as []sdp.Attribute, key string) string {
	for _, a := range as {
		if a.Key == key {
			return a.Value
		}
	}
	return ""
}

// withCredentials returns the SDP with every ice-ufrag and ice-pwd replaced.
func withCredentials(sdpText, ufrag, pwd string) string {
	lines := strings.Split(sdpText, "\n")
	for i, l := range lines {
		cr := strings.HasSuffix(l, "\r")
		l = strings.TrimRight(l, "\r")
		switch {
		case strings.HasPrefix(l, "a=ice-ufrag:"):
			l = "a=ice-ufrag:" + ufrag
		case strings.HasPrefix(l, "a=ice-pwd:"):
			l = "a=ice-pwd:" + pwd
		default:
			continue
		}
		if cr {
			l += "\r"
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}

// iceChars reports whether s is min to 256 characters of ALPHA, DIGIT, + and /.
func iceChars(s string, min int) bool {
	if len(s) < min || len(s) > 256 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '/') {
			return false
		}
	}
	return true
}
