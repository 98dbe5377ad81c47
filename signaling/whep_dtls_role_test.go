package signaling

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mutstream/mutstream/stream"
)

// TestWHEPAnswersDTLSPassive: to a browser's setup:actpass offer a viewer
// is answered setup:passive, so the browser is the DTLS client and sends
// the first flight when its own ICE is connected. Answered active, mediad
// sent its ClientHello the moment its side of ICE connected, before
// Firefox's had: Firefox dropped it and the handshake waited for the
// flight to be sent again (issue 15: 600-790 ms for a first viewer;
// BenchmarkFirstViewerDTLSFirefox measured 1,003-1,013 ms with pion's 1s
// retransmission).
func TestWHEPAnswersDTLSPassive(t *testing.T) {
	env := newTestEnv(t, DefaultConfig())
	if _, err := env.hub.Publish("cam", "test", []stream.Track{{Kind: stream.KindVideo, Codec: stream.CodecH264}}, nil); err != nil {
		t.Fatal(err)
	}
	offer := strings.ReplaceAll(chromeLikeOffer, "\n", "\r\n")
	if !strings.Contains(offer, "a=setup:actpass") {
		t.Fatal("the test offer is not actpass")
	}
	resp, answer := env.post(t, "/whep/cam", "application/sdp", offer)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d %s", resp.StatusCode, answer)
	}
	var setups []string
	for _, l := range strings.Split(answer, "\r\n") {
		if strings.HasPrefix(l, "a=setup:") {
			setups = append(setups, strings.TrimPrefix(l, "a=setup:"))
		}
	}
	if len(setups) == 0 {
		t.Fatalf("the answer has no a=setup line:\n%s", answer)
	}
	for _, s := range setups {
		if s != "passive" {
			t.Fatalf("answer setup %v, want passive everywhere:\n%s", setups, answer)
		}
	}
}
