package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mutstream/mutstream/gpu"
)

func TestExampleFileMatchesDefaults(t *testing.T) {
	cfg, err := Load("../mediad.yml")
	if err != nil {
		t.Fatal(err)
	}
	def := Default()
	// Printed alike: an empty list in the file is the default's nil.
	same := func(a, b any) bool { return fmt.Sprintf("%+v", a) == fmt.Sprintf("%+v", b) }
	if !same(cfg.HTTP, def.HTTP) || !same(cfg.Auth, def.Auth) || cfg.WebRTC.RateLimit != def.WebRTC.RateLimit || !same(cfg.WebRTC.TURN, def.WebRTC.TURN) || cfg.Ingest != def.Ingest || cfg.GPU != def.GPU || cfg.Mutations.Limits != def.Mutations.Limits || cfg.Mutations.AssetsDir != filepath.Join("..", def.Mutations.AssetsDir) || cfg.Mutations.OverBudget != def.Mutations.OverBudget || cfg.RTMP != def.RTMP || cfg.Log != def.Log || cfg.Demo != def.Demo {
		t.Fatalf("mediad.yml drifted from the defaults:\n%+v\n%+v", cfg, def)
	}
	if len(cfg.Transcode.Ladder) != 3 || cfg.Transcode.Ladder[0] != def.Transcode.Ladder[0] || cfg.Transcode.GOP != 2*time.Second {
		t.Fatalf("transcode section drifted: %+v", cfg.Transcode)
	}
	if cfg.WebRTC.UDPPort != 8189 || cfg.WebRTC.DisconnectedTimeout != def.WebRTC.DisconnectedTimeout {
		t.Fatalf("webrtc section drifted: %+v", cfg.WebRTC)
	}
}

// TestREADMEChain: the chain the README's example PUTs is valid with the
// example config from any working directory: its watermark, logo.png,
// ships in the assets folder next to mediad.yml.
func TestREADMEChain(t *testing.T) {
	cfg, err := Load("../mediad.yml")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "mutations -d '")
	chain, _, ok2 := strings.Cut(rest, "'")
	if !ok || !ok2 || !strings.Contains(chain, "logo.png") {
		t.Fatalf("no example chain with logo.png in the README")
	}
	specs, err := gpu.ParseChain([]byte(chain), gpu.Env{Limits: cfg.Mutations.Limits, AssetsDir: cfg.Mutations.AssetsDir})
	if err != nil || len(specs) != 4 {
		t.Fatalf("the README's chain: %d ops, %v", len(specs), err)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"unknown top-level key", "htp:\n  addr: :1\n", []string{"htp", "line 1"}},
		{"unknown nested key", "rtmp:\n  adress: :1\n", []string{"adress", "line 2"}},
		{"wrong type", "webrtc:\n  udp_port: many\n", []string{"many"}},
		{"bad duration", "webrtc:\n  failed_timeout: soon\n", []string{"soon"}},
		{"bad log level", "log:\n  level: loud\n", []string{"log.level", "loud"}},
		{"bad rung", "transcode:\n  ladder:\n    - {name: x, width: 7, height: 4, fps: 30, bitrate: 1000}\n", []string{"ladder[0].width"}},
		{"bad port", "webrtc:\n  udp_port: 70000\n", []string{"udp_port"}},
		{"bad adapt mechanics", "webrtc:\n  adapt:\n    probe: {retry: 5s, retry_max: 2s}\n    resend: {share: 1.5}\n", []string{"adapt", "probe.retry_max", "resend.share"}},
		{"bad adapt threshold", "webrtc:\n  adapt:\n    headroom: 0.5\n    standing_queue: 0s\n", []string{"adapt", "headroom", "standing_queue"}},
		{"old sender section", "webrtc:\n  sender:\n    loss_cap: 0.1\n", []string{"sender"}},
		{"unknown adapt key", "webrtc:\n  adapt:\n    hold: {resum: 1s}\n", []string{"resum"}},
		{"bad gpu mode", "gpu:\n  mode: maybe\n", []string{"gpu.mode", "maybe"}},
		{"bad default chain", "mutations:\n  defaults:\n    - streams: \"cam*\"\n      chain:\n        - {op: blurr}\n", []string{"mutations.defaults[0].chain", "unknown op"}},
		{"bad stream name", "auth:\n  streams:\n    \"a b\": {token: x}\n", []string{"auth.streams.a b"}},
		{"bad trusted proxy", "http:\n  trusted_proxies: [10.0.0.0/8, proxy.lan]\n", []string{"http.trusted_proxies[1]", "proxy.lan"}},
		{"bad jwt alg", "auth:\n  jwt:\n    keys: [{alg: none}]\n", []string{"auth.jwt.keys[0]", "alg"}},
		{"short jwt secret", "auth:\n  jwt:\n    keys: [{alg: HS256, secret: abc}]\n", []string{"auth.jwt.keys[0]", "32 bytes"}},
		{"play token without a way to get one", "auth:\n  play: token\n", []string{"auth.play", "viewer_token"}},
		{"bad webhook", "auth:\n  webhook_url: \"ftp://x\"\n", []string{"auth.webhook_url"}},
		{"unknown auth key", "auth:\n  webhook: http://x\n", []string{"webhook", "line 2"}},
		{"bad viewers limit", "webrtc:\n  rate_limit:\n    viewers: {per_second: 5, burst: 0}\n", []string{"rate_limit.viewers"}},
		{"old limit half set", "webrtc:\n  rate_limit: {per_second: 5}\n", []string{"rate_limit.per_second", "viewers"}},
		{"turn secret without urls", "webrtc:\n  turn: {secret: s}\n", []string{"turn.urls"}},
		{"turn url not turn", "webrtc:\n  turn: {secret: s, urls: [\"stun:x\"]}\n", []string{"turn.urls[0]"}},
		{"ice server without scheme", "webrtc:\n  ice_servers: [{urls: [\"stun.example.com:3478\"]}]\n", []string{"ice_servers[0].urls[0]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.yml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, w := range append(tc.want, path) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
		})
	}
}

func TestPartialFileKeepsDefaults(t *testing.T) {
	var cfg = Default()
	if err := Decode(strings.NewReader("http:\n  addr: :9000\ndemo:\n  enabled: false\n"), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Addr != ":9000" || cfg.Demo.Enabled || cfg.RTMP.Addr != ":1935" || cfg.Demo.Width != 1280 {
		t.Fatalf("got %+v", cfg)
	}
	empty := Default()
	if err := Decode(strings.NewReader(""), &empty); err != nil {
		t.Fatalf("empty file: %v", err)
	}
}

func TestAuth(t *testing.T) {
	a := Auth{PublishToken: "global", Streams: map[string]StreamAuth{"studio": {Token: "own"}}}
	for _, tc := range []struct {
		name, token string
		ok          bool
	}{
		{"cam", "global", true},
		{"cam", "wrong", false},
		{"cam", "", false},
		{"studio", "own", true},
		{"studio", "global", false},
		{"studio", "", false},
	} {
		if got := a.Allow(tc.name, tc.token); got != tc.ok {
			t.Errorf("Allow(%q, %q) = %v, want %v", tc.name, tc.token, got, tc.ok)
		}
	}
	var none Auth
	if none.Allow("cam", "") {
		t.Fatal("no token configured must refuse everyone")
	}
	if !none.EnsureToken() || len(none.PublishToken) < 16 || !none.Allow("cam", none.PublishToken) {
		t.Fatalf("generated token %q not usable", none.PublishToken)
	}
	if none.EnsureToken() {
		t.Fatal("EnsureToken replaced an existing token")
	}
}

// TestAssetsDirRelativeToFile: a relative assets_dir is found next to the
// config file, an absolute one is kept.
func TestAssetsDirRelativeToFile(t *testing.T) {
	dir := t.TempDir()
	for in, want := range map[string]string{"img": filepath.Join(dir, "img"), "/srv/img": "/srv/img"} {
		path := filepath.Join(dir, "m.yml")
		if err := os.WriteFile(path, []byte("mutations:\n  assets_dir: "+in+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(path)
		if err != nil || cfg.Mutations.AssetsDir != want {
			t.Errorf("assets_dir %q: %q, %v; want %q", in, cfg.Mutations.AssetsDir, err, want)
		}
	}
}

// TestAuthSection: a full auth section, trusted proxies, the split rate
// limits and TURN decode; the old single rate limit still sets both.
func TestAuthSection(t *testing.T) {
	cfg := Default()
	yml := `http:
  trusted_proxies: [10.0.0.0/8, "2001:db8::1"]
webrtc:
  viewer_token: watch
  rate_limit:
    viewers: {per_second: 20, burst: 300}
  turn: {urls: ["turn:t.example.com"], secret: s3cret, ttl: 30m}
auth:
  play: token
  jwt:
    keys: [{id: a, alg: HS256, secret: "0123456789abcdef0123456789abcdef"}]
    issuer: portal
  webhook_url: https://hooks.example.com/mediad
  webhook_timeout: 1s
  max_streams_per_token: 3
`
	if err := Decode(strings.NewReader(yml), &cfg); err != nil {
		t.Fatal(err)
	}
	v, p := cfg.WebRTC.RateLimit.Buckets()
	if v.PerSecond != 20 || v.Burst != 300 || p.PerSecond != 5 || p.Burst != 20 {
		t.Fatalf("rate limits %+v %+v", v, p)
	}
	if cfg.Auth.WebhookCache != 30*time.Second || cfg.Auth.MaxStreamsPerToken != 3 || cfg.Auth.JWT.Keys[0].ID != "a" || cfg.WebRTC.TURN.TTL != 30*time.Minute {
		t.Fatalf("auth %+v", cfg.Auth)
	}
	a, err := cfg.NewAuthorizer(nil)
	if err != nil || a.PlayOpen() {
		t.Fatalf("authorizer: %v (play open %v)", err, a != nil && a.PlayOpen())
	}
	old := Default()
	if err := Decode(strings.NewReader("webrtc:\n  rate_limit: {per_second: 2, burst: 7}\n"), &old); err != nil {
		t.Fatal(err)
	}
	v, p = old.WebRTC.RateLimit.Buckets()
	if v != p || v.PerSecond != 2 || v.Burst != 7 {
		t.Fatalf("old rate_limit keys: %+v %+v", v, p)
	}
}
