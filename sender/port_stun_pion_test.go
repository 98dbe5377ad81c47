package sender

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// gateConn is a client's UDP socket that can fall silent: once silent,
// what the client writes is dropped.
type gateConn struct {
	net.PacketConn
	silent atomic.Bool
}

func (g *gateConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if g.silent.Load() {
		return len(b), nil
	}
	return g.PacketConn.WriteTo(b, addr)
}

// iceStates records a PeerConnection's ICE connection states.
type iceStates struct {
	mu  sync.Mutex
	all []webrtc.ICEConnectionState
	ch  chan webrtc.ICEConnectionState
}

func watchICE(pc *webrtc.PeerConnection) *iceStates {
	s := &iceStates{ch: make(chan webrtc.ICEConnectionState, 16)}
	pc.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) {
		s.mu.Lock()
		s.all = append(s.all, st)
		s.mu.Unlock()
		select {
		case s.ch <- st:
		default:
		}
	})
	return s
}

func (s *iceStates) seen(st webrtc.ICEConnectionState) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.all {
		if x == st {
			return true
		}
	}
	return false
}

// A direct viewer whose STUN Binding Requests the port answers, with
// short ICE timeouts (disconnected 1 s, failed 1 s, pion's keepalive at
// 2/5 of the former as the viewer API has it, a client checking every
// 200 ms), stays connected for several failed timeouts: pion's agent,
// which reads none of the client's requests while its own checks are
// answered, never marks the pair disconnected. Once the client falls
// silent, the agent still fails the pair, as before.
func TestPortAnswersKeepPionConnected(t *testing.T) {
	const (
		disconnected = time.Second
		failed       = time.Second
	)
	conn := testPort(t, true)
	conn.SetHandOver(disconnected / 2)
	sock, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gate := &gateConn{PacketConn: sock}
	cmux := webrtc.NewICEUDPMux(nil, gate)
	t.Cleanup(func() { _ = cmux.Close() })
	spc, _, sp, _ := directPairWith(t, conn, webrtc.DTLSRoleServer, true, false, func(viewer, client *webrtc.SettingEngine) {
		viewer.SetICETimeouts(disconnected, failed, disconnected*2/5)
		client.SetICETimeouts(disconnected, failed, 200*time.Millisecond)
		client.SetICEUDPMux(cmux)
	})
	states := watchICE(spc)
	d, err := newDirectOut(spc, conn)
	if err != nil {
		t.Fatal(err)
	}
	if d.in.ice == nil {
		t.Fatal("no STUN answerer for a direct viewer")
	}
	if err := sp.useDirect(d); err != nil {
		t.Fatal(err)
	}
	d.start(spc.SCTP().Transport().ICETransport(), sp)
	t.Cleanup(d.close)

	// 25 requests at 200 ms: five seconds, two and a half times
	// disconnected + failed.
	deadline := time.Now().Add(60 * time.Second)
	for d.in.ice.answered.Load() < 25 {
		if time.Now().After(deadline) {
			t.Fatalf("the port answered %d requests, want 25", d.in.ice.answered.Load())
		}
		if states.seen(webrtc.ICEConnectionStateDisconnected) || states.seen(webrtc.ICEConnectionStateFailed) {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling a counter
	}
	if states.seen(webrtc.ICEConnectionStateDisconnected) || states.seen(webrtc.ICEConnectionStateFailed) {
		t.Fatalf("pion's agent went disconnected while the port answered the client (%d answered)", d.in.ice.answered.Load())
	}
	if st := spc.ICEConnectionState(); st != webrtc.ICEConnectionStateConnected {
		t.Fatalf("ICE %v, want connected", st)
	}

	answered := d.in.ice.answered.Load()
	gate.silent.Store(true)
	timeout := time.After(30 * time.Second)
	for {
		select {
		case st := <-states.ch:
			if st != webrtc.ICEConnectionStateFailed {
				continue
			}
			// Nothing more came from the client to answer, but
			// perhaps a request in flight as it fell silent.
			if n := d.in.ice.answered.Load(); n > answered+1 {
				t.Fatalf("the port answered %d requests of a silent client", n-answered)
			}
			return
		case <-timeout:
			t.Fatal("the silent client's pair never failed")
		}
	}
}
