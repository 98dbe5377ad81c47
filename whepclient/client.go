// Package whepclient is a receive-only WHEP client (draft-ietf-wish-whep)
// on a pion PeerConnection that its caller builds: mediad's edges pull
// rungs from their origin with it, and the tests' Go viewers play with it,
// so both go through the same code path as a browser's offer.
package whepclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
)

// MaxAnswer is the largest answer read, in bytes.
const MaxAnswer = 64 << 10

// Options are what Dial sends besides the offer.
type Options struct {
	// Token, when set, goes as "Authorization: Bearer".
	Token string
	// Client makes the requests; nil is a client with a 10 s timeout.
	Client *http.Client
	// Audio adds a receive-only audio section to the offer.
	Audio bool
	// VideoCodec, when set, is the only video codec offered (a MIME type
	// such as webrtc.MimeTypeVP8, with its retransmission format): the
	// server must answer it or refuse. Empty offers every video codec of
	// the PeerConnection's API.
	VideoCodec string
	// GatherTimeout bounds ICE gathering (default 5 s).
	GatherTimeout time.Duration
}

// Session is one WHEP session: the PeerConnection and its resource URL.
type Session struct {
	PC *webrtc.PeerConnection
	// Location is the session's resource URL, absolute.
	Location string
	token    string
	client   *http.Client
	origin   *url.URL // the endpoint's: the only scheme and host the token goes to
}

// RefusedError is a WHEP POST answered with another status than 201.
type RefusedError struct {
	Status int
	// RetryAfter is the Retry-After header, zero when absent.
	RetryAfter time.Duration
	Body       string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("WHEP POST: %d %s", e.Status, e.Body)
}

// Prepare adds receive-only transceivers (video, and audio when asked)
// to pc, the video one limited to o.VideoCodec when set. Dial calls it;
// call it yourself before Offer to add data channels after the media
// sections.
func Prepare(pc *webrtc.PeerConnection, o Options) error {
	kinds := []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo}
	if o.Audio {
		kinds = append(kinds, webrtc.RTPCodecTypeAudio)
	}
	for _, k := range kinds {
		tr, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		if err != nil {
			return fmt.Errorf("add %s transceiver: %w", k, err)
		}
		if k == webrtc.RTPCodecTypeVideo && o.VideoCodec != "" {
			if err := onlyCodec(tr, o.VideoCodec); err != nil {
				return err
			}
		}
	}
	return nil
}

// onlyCodec limits tr's offer to the formats of one MIME type and the
// retransmission formats (RFC 4588) tied to them.
func onlyCodec(tr *webrtc.RTPTransceiver, mime string) error {
	all := tr.Receiver().GetParameters().Codecs
	keep := map[webrtc.PayloadType]bool{}
	var out []webrtc.RTPCodecParameters
	for _, c := range all {
		if strings.EqualFold(c.MimeType, mime) {
			keep[c.PayloadType] = true
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return fmt.Errorf("video codec %s: not registered on the PeerConnection's API", mime)
	}
	for _, c := range all {
		if !strings.EqualFold(c.MimeType, webrtc.MimeTypeRTX) {
			continue
		}
		var apt int
		for _, kv := range strings.Split(c.SDPFmtpLine, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(kv), "apt="); ok {
				_, _ = fmt.Sscan(v, &apt)
			}
		}
		if keep[webrtc.PayloadType(apt)] {
			out = append(out, c)
		}
	}
	if err := tr.SetCodecPreferences(out); err != nil {
		return fmt.Errorf("video codec %s: %w", mime, err)
	}
	return nil
}

// Offer makes pc's offer (ICE gathered), posts it to endpoint (the WHEP
// URL, with any query such as ?rung=360p) and applies the answer. pc
// must have its transceivers and data channels already (Prepare). On
// error pc is left open: the caller closes it.
func Offer(ctx context.Context, endpoint string, pc *webrtc.PeerConnection, o Options) (*Session, error) {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.GatherTimeout <= 0 {
		o.GatherTimeout = 5 * time.Second
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return nil, fmt.Errorf("create offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return nil, fmt.Errorf("set offer: %w", err)
	}
	select {
	case <-gathered:
	case <-time.After(o.GatherTimeout):
		return nil, errors.New("ICE gathering timed out")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(pc.LocalDescription().SDP))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/sdp")
	if o.Token != "" {
		req.Header.Set("Authorization", "Bearer "+o.Token)
	}
	resp, err := o.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("WHEP POST: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("WHEP POST: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		e := &RefusedError{Status: resp.StatusCode, Body: string(bytes.TrimSpace(body))}
		if len(e.Body) > 200 {
			e.Body = e.Body[:200]
		}
		var secs int
		if _, err := fmt.Sscan(resp.Header.Get("Retry-After"), &secs); err == nil && secs > 0 {
			e.RetryAfter = time.Duration(secs) * time.Second
		}
		return nil, e
	}
	if len(body) > MaxAnswer {
		return nil, errors.New("WHEP POST: answer too large")
	}
	loc, origin, err := resolve(endpoint, resp.Header.Get("Location"))
	if err != nil {
		return nil, err
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		return nil, fmt.Errorf("set answer: %w", err)
	}
	return &Session{PC: pc, Location: loc, token: o.Token, client: o.Client, origin: origin}, nil
}

// Dial is Prepare then Offer.
func Dial(ctx context.Context, endpoint string, pc *webrtc.PeerConnection, o Options) (*Session, error) {
	if err := Prepare(pc, o); err != nil {
		return nil, err
	}
	return Offer(ctx, endpoint, pc, o)
}

// ErrForeignLocation is a Location (or a Session's) on another scheme or
// host than the endpoint's: the token is never sent there.
var ErrForeignLocation = errors.New("WHEP: Location on another scheme or host than the endpoint")

// resolve makes loc absolute against endpoint and refuses it on another
// scheme or host, where Delete would send the token. It also returns the
// endpoint's URL.
func resolve(endpoint, loc string) (string, *url.URL, error) {
	if loc == "" {
		return "", nil, errors.New("WHEP POST: 201 without a Location")
	}
	base, err := url.Parse(endpoint)
	if err != nil {
		return "", nil, err
	}
	l, err := url.Parse(loc)
	if err != nil {
		return "", nil, fmt.Errorf("WHEP POST: bad Location: %w", err)
	}
	abs := base.ResolveReference(l)
	if !sameOrigin(base, abs) {
		return "", nil, ErrForeignLocation
	}
	return abs.String(), base, nil
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host)
}

// Delete ends the session on the server (DELETE on its resource) and
// returns the status. It does not close the PeerConnection. With a token,
// a Location on another scheme or host than the endpoint's is refused
// (ErrForeignLocation) and nothing is sent.
func (s *Session) Delete(ctx context.Context) (int, error) {
	if s.token != "" {
		l, err := url.Parse(s.Location)
		if err != nil || s.origin == nil || !sameOrigin(s.origin, l) {
			return 0, ErrForeignLocation
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, s.Location, nil)
	if err != nil {
		return 0, err
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}
