package rtmp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/rawmessage"
)

// feedConn is a net.Conn whose reads return data in pieces of random size.
type feedConn struct {
	net.Conn
	data []byte
	rng  *rand.Rand
}

func (c *feedConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(c.data), 1+c.rng.IntN(5000))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// plainHandshake is what a client sends before its first chunk.
func plainHandshake() []byte {
	b := make([]byte, handshakeLen)
	b[0] = 3
	return b
}

// libraryStream writes msgs with the library's own chunk writer, after a
// handshake; a message of type 1 also changes the writer's chunk size.
func libraryStream(t testing.TB, msgs []*rawmessage.Message) []byte {
	var buf bytes.Buffer
	buf.Write(plainHandshake())
	w := rawmessage.NewWriter(&buf, bytecounter.NewWriter(io.Discard), false)
	for _, m := range msgs {
		if err := w.Write(m); err != nil {
			t.Fatal(err)
		}
		if m.Type == typeSetChunk {
			w.SetChunkSize(binary.BigEndian.Uint32(m.Body))
		}
	}
	return buf.Bytes()
}

// libraryRead reads data as the server's library does (applying chunk size
// and abort messages) and returns the message sizes it assembled.
func libraryRead(data []byte) ([]int, error) {
	br := bytecounter.NewReader(bytes.NewReader(data[handshakeLen:]))
	r := rawmessage.NewReader(br, br, func(uint32) error { return nil })
	var sizes []int
	for {
		m, err := r.Read()
		if err != nil {
			return sizes, err
		}
		sizes = append(sizes, len(m.Body))
		switch {
		case m.Type == typeSetChunk && len(m.Body) == 4:
			if err := r.SetChunkSize(binary.BigEndian.Uint32(m.Body)); err != nil {
				return sizes, err
			}
		case m.Type == typeAbort && len(m.Body) == 4:
			r.AbortChunkStream(binary.BigEndian.Uint32(m.Body))
		}
	}
}

func chunkSizeMsg(v uint32) *rawmessage.Message {
	return &rawmessage.Message{ChunkStreamID: 2, Type: typeSetChunk, Body: binary.BigEndian.AppendUint32(nil, v)}
}

func media(csid byte, typ uint8, ts time.Duration, size int) *rawmessage.Message {
	return &rawmessage.Message{ChunkStreamID: csid, Type: typ, Timestamp: ts, MessageStreamID: 1, Body: make([]byte, size)}
}

// guardAll reads all of data through a guard, in random pieces.
func guardAll(data []byte, seed uint64, maxBody, maxChunk int) (*chunkGuard, error) {
	g := newChunkGuard(&feedConn{data: data, rng: rand.New(rand.NewPCG(seed, 1))}, maxBody, maxChunk, 2*maxBody)
	_, err := io.Copy(io.Discard, g)
	return g, err
}

// TestChunkGuardFollowsLibraryFraming: streams written by the library's own
// chunk writer (every header type, extended timestamps, chunk size changes,
// interleaved chunk streams) pass the guard whole, in any read pieces, and
// the guard ends with the chunk size the library would use.
func TestChunkGuardFollowsLibraryFraming(t *testing.T) {
	var msgs []*rawmessage.Message
	msgs = append(msgs, media(3, 20, 0, 300)) // a command before any chunk size
	msgs = append(msgs, chunkSizeMsg(4096))
	ts := time.Duration(0)
	for i := range 60 {
		ts += 33 * time.Millisecond
		if i == 30 {
			ts = 5 * time.Hour // timestamps over 0xFFFFFF ms: extended
		}
		size := 50 + (i*7919)%20000
		if i%10 == 0 {
			size = 300 << 10 // a keyframe, many chunks
		}
		msgs = append(msgs, media(6, 9, ts, size), media(4, 8, ts, 20+i%7))
		if i == 20 {
			msgs = append(msgs, chunkSizeMsg(60000))
		}
		if i == 40 {
			msgs = append(msgs, chunkSizeMsg(1))
		}
		if i == 41 {
			msgs = append(msgs, chunkSizeMsg(128))
		}
	}
	msgs = append(msgs, media(6, 9, ts, 0)) // an empty message
	data := libraryStream(t, msgs)

	sizes, err := libraryRead(data)
	if !errors.Is(err, io.EOF) || len(sizes) != len(msgs) {
		t.Fatalf("the library read %d of %d messages: %v", len(sizes), len(msgs), err)
	}
	for seed := range uint64(20) {
		g, err := guardAll(data, seed, 8<<20, 1<<20)
		if err != nil {
			t.Fatalf("seed %d: guard refused a valid stream: %v", seed, err)
		}
		if g.chunkSize != 128 || g.pending != 0 || g.hdrLen != 0 || g.bodyLeft != 0 {
			t.Fatalf("seed %d: guard state chunk size %d, pending %d, header %d, body %d; want 128, 0, 0, 0",
				seed, g.chunkSize, g.pending, g.hdrLen, g.bodyLeft)
		}
	}
}

// rawChunk0 is a type 0 chunk header on csid announcing a message of n
// bytes of type typ.
func rawChunk0(csid byte, typ uint8, n int) []byte {
	return []byte{csid, 0, 0, 0, byte(n >> 16), byte(n >> 8), byte(n), typ, 1, 0, 0, 0}
}

// TestChunkGuardRefuses: each way to make the library allocate or keep more
// than the limits is refused with the oversize reason, and the read that
// carries it hands none of its bytes to the library.
func TestChunkGuardRefuses(t *testing.T) {
	const maxBody, maxChunk = 1 << 20, 64 << 10
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	cs := func(v uint32) []byte {
		return join(rawChunk0(2, typeSetChunk, 4), binary.BigEndian.AppendUint32(nil, v))
	}
	partial := func(csid byte) []byte { // first 128-byte chunk of a message of maxBody
		return join(rawChunk0(csid, 9, maxBody), make([]byte, 128))
	}
	cases := []struct {
		name   string
		data   []byte
		reason string // "" for a framing error
	}{
		{"message over the limit", join(plainHandshake(), rawChunk0(6, 9, maxBody+1)), reasonOversize},
		{"chunk size over the limit", join(plainHandshake(), cs(maxChunk+1)), reasonOversize},
		{"chunk size with the top bit", join(plainHandshake(), cs(0x80000080)), reasonOversize},
		{"messages in assembly over the limit", join(plainHandshake(), partial(4), partial(5), partial(6)), reasonOversize},
		{"chunk size zero", join(plainHandshake(), cs(0)), ""},
		{"RTMPE", append([]byte{rtmpeVersion}, make([]byte, 3072)...), ""},
		{"type 3 first", join(plainHandshake(), []byte{0xC6}), ""},
		{"type 0 inside a message", join(plainHandshake(), partial(4), rawChunk0(4, 9, 10)), ""},
		{"extended chunk stream id", join(plainHandshake(), []byte{0x00}), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := newChunkGuard(&feedConn{data: c.data, rng: rand.New(rand.NewPCG(1, 1))}, maxBody, maxChunk, 2*maxBody)
			var err error
			buf := make([]byte, 1<<20)
			for err == nil {
				var n int
				n, err = g.Read(buf)
				if err != nil && n != 0 {
					t.Errorf("a refused read handed %d bytes on", n)
				}
			}
			if errors.Is(err, io.EOF) {
				t.Fatal("the guard let it through")
			}
			if got := reasonOf(err, ""); got != c.reason {
				t.Errorf("reason %q, want %q (err %v)", got, c.reason, err)
			}
			if c.reason == "" && !errors.Is(err, errChunkProtocol) {
				t.Errorf("err %v, want errChunkProtocol", err)
			}
			if _, again := g.Read(buf); again != err {
				t.Errorf("a later read gave %v, want the same error", again)
			}
		})
	}
}

// TestChunkGuardAbort: an abort message frees its stream's partial message,
// so a publisher may start another.
func TestChunkGuardAbort(t *testing.T) {
	const maxBody = 1 << 20
	var data []byte
	data = append(data, plainHandshake()...)
	for range 4 {
		data = append(data, rawChunk0(6, 9, maxBody)...)
		data = append(data, make([]byte, 128)...)
		data = append(data, rawChunk0(2, typeAbort, 4)...)
		data = append(data, 0, 0, 0, 6)
	}
	if _, err := libraryRead(data); !errors.Is(err, io.EOF) {
		t.Fatalf("the library refused the stream: %v", err)
	}
	g, err := guardAll(data, 3, maxBody, 64<<10)
	if err != nil {
		t.Fatalf("guard: %v", err)
	}
	if g.pending != 0 {
		t.Errorf("pending %d after the aborts, want 0", g.pending)
	}
}

// FuzzChunkGuard: whatever a peer sends, when the guard lets all of it
// through, the library never assembles a message over the limit.
func FuzzChunkGuard(f *testing.F) {
	f.Add(rawChunk0(6, 9, 100), uint64(1))
	f.Add(append(rawChunk0(2, typeSetChunk, 4), 0, 0, 16, 0), uint64(2))
	f.Add(append(append(rawChunk0(6, 9, 300), make([]byte, 128)...), 0xC6), uint64(3))
	const maxBody, maxChunk = 4096, 1024
	f.Fuzz(func(t *testing.T, chunks []byte, seed uint64) {
		data := append(plainHandshake(), chunks...)
		if _, err := guardAll(data, seed, maxBody, maxChunk); err != nil {
			return
		}
		sizes, _ := libraryRead(data)
		for _, n := range sizes {
			if n > maxBody {
				t.Fatalf("the guard let through a %d-byte message (limit %d)", n, maxBody)
			}
		}
	})
}

// BenchmarkChunkGuard measures the guard's cost per byte on a stream of
// 4096-byte chunks (video messages of 20 KB and audio of 300 B).
func BenchmarkChunkGuard(b *testing.B) {
	msgs := []*rawmessage.Message{chunkSizeMsg(4096)}
	for i := range 300 {
		ts := time.Duration(i) * 33 * time.Millisecond
		msgs = append(msgs, media(6, 9, ts, 20000), media(4, 8, ts, 300))
	}
	data := libraryStream(b, msgs)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		g := newChunkGuard(&feedConn{data: data, rng: rand.New(rand.NewPCG(1, 1))}, 8<<20, 1<<20, 16<<20)
		if _, err := io.Copy(io.Discard, g); err != nil {
			b.Fatal(err)
		}
	}
}
