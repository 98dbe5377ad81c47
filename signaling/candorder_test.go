package signaling

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

// answerWith is an answer whose media section lists cands in this order.
func answerWith(cands []string) string {
	var b strings.Builder
	b.WriteString("v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\na=mid:0\r\n")
	for i, c := range cands {
		b.WriteString("a=candidate:" + string(rune('a'+i)) + " 1 udp 2130706431 " + c + " 8189 typ host\r\n")
	}
	b.WriteString("a=candidate:z 1 udp 1694498815 198.51.100.1 8189 typ srflx raddr 0.0.0.0 rport 8189\r\n")
	b.WriteString("a=end-of-candidates\r\na=sendrecv\r\n")
	return b.String()
}

// candidatesOf lists the candidate addresses of sdp in order.
func candidatesOf(sdp string) []string {
	var out []string
	for _, l := range strings.Split(sdp, "\n") {
		if a, ok := candidateAddr(strings.TrimSpace(l)); ok {
			out = append(out, a.String())
		}
	}
	return out
}

func TestCandidateOrder(t *testing.T) {
	local := []string{"fd00::2", "127.0.0.1", "192.0.2.2", "::1", "10.0.0.5"}
	nets := []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("fd00::/64"),
		netip.MustParsePrefix("10.0.0.0/24"),
	}
	offerFrom := func(addr string) string {
		return "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\na=candidate:1 1 udp 2122260223 " + addr + " 50000 typ host\r\n"
	}
	for _, tc := range []struct {
		name          string
		public        []string
		offer, client string
		want          string
	}{
		{"LAN peer: its subnet first, no loopback", nil, offerFrom("192.0.2.7"), "", "192.0.2.2 10.0.0.5 fd00::2 198.51.100.1"},
		{"IPv6 peer", nil, offerFrom("fd00::9"), "", "fd00::2 10.0.0.5 192.0.2.2 198.51.100.1"},
		{"public address first", []string{"10.0.0.5"}, offerFrom("192.0.2.7"), "", "10.0.0.5 192.0.2.2 fd00::2 198.51.100.1"},
		{"loopback peer: loopback first", nil, offerFrom("127.0.0.1"), "", "127.0.0.1 ::1 10.0.0.5 192.0.2.2 fd00::2 198.51.100.1"},
		{"no candidates offered (FFmpeg): the HTTP client", nil, "v=0\r\n", "192.0.2.7", "192.0.2.2 10.0.0.5 fd00::2 198.51.100.1"},
		// A loopback HTTP client may be a reverse proxy on this machine in
		// front of a remote client: loopback is kept, but last.
		{"mDNS candidates, loopback HTTP client", nil, offerFrom("x.local"), "127.0.0.1", "10.0.0.5 192.0.2.2 fd00::2 127.0.0.1 ::1 198.51.100.1"},
		{"no candidates offered, behind a local proxy", nil, "v=0\r\n", "127.0.0.1", "10.0.0.5 192.0.2.2 fd00::2 127.0.0.1 ::1 198.51.100.1"},
		{"behind a local proxy, public address first", []string{"192.0.2.2"}, "v=0\r\n", "127.0.0.1", "192.0.2.2 10.0.0.5 fd00::2 127.0.0.1 ::1 198.51.100.1"},
		{"loopback peer, public address still first", []string{"192.0.2.2"}, offerFrom("127.0.0.1"), "", "192.0.2.2 127.0.0.1 ::1 10.0.0.5 fd00::2 198.51.100.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newCandidateOrder(tc.public, tc.offer, tc.client)
			o.nets = nets
			for i := 0; i < 20; i++ {
				shuffled := append([]string(nil), local...)
				rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				got := o.apply(answerWith(shuffled))
				if c := strings.Join(candidatesOf(got), " "); c != tc.want {
					t.Fatalf("from %v: %s, want %s", shuffled, c, tc.want)
				}
				if !strings.Contains(got, "a=end-of-candidates\r\na=sendrecv\r\n") || !strings.HasPrefix(got, "v=0\r\n") {
					t.Fatalf("rest of the SDP changed:\n%s", got)
				}
			}
		})
	}
	t.Run("only loopback: kept", func(t *testing.T) {
		o := newCandidateOrder(nil, offerFrom("192.0.2.7"), "")
		o.nets = nets
		if c := candidatesOf(o.apply(answerWith([]string{"127.0.0.1"}))); strings.Join(c, " ") != "127.0.0.1 198.51.100.1" {
			t.Fatalf("%v, want the loopback candidate kept", c)
		}
	})
}
