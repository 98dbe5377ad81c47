package config

import (
	"bytes"
	"os"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzDecode feeds the config decoder arbitrary YAML over the defaults,
// seeded with the example mediad.yml and the shapes of the loader's tests.
// A refusal is an error with a message; an accepted config validates, and
// written out as YAML it decodes over the defaults to the same config (so
// what an operator reads back is what runs).
func FuzzDecode(f *testing.F) {
	example, err := os.ReadFile("../mediad.yml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	for _, s := range []string{
		"",
		"http:\n  addr: 127.0.0.1:8080\nlog: {level: debug, format: json}\n",
		"webrtc:\n  udp_port: 70000\n",
		"webrtc:\n  failed_timeout: soon\n",
		"webrtc:\n  adapt:\n    probe: {retry: 5s, retry_max: 2s}\n    resend: {share: 1.5}\n",
		"transcode:\n  ladder:\n    - {name: x, width: 7, height: 4, fps: 30, bitrate: 1000}\n",
		"mutations:\n  defaults:\n    - streams: \"cam*\"\n      chain:\n        - {op: blur, radius: 3}\n",
		"auth:\n  publish_token: s3cret\n  streams:\n    cam: {token: x}\n",
		"a: &a [1, 2]\nb: *a\n",
		"http: {addr: [}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := Default()
		if err := Decode(bytes.NewReader(data), &cfg); err != nil {
			if err.Error() == "" {
				t.Fatal("a refusal with no message")
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("accepted, then invalid: %v", err)
		}
		out, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatalf("an accepted config does not marshal: %v", err)
		}
		again := Default()
		if err := Decode(bytes.NewReader(out), &again); err != nil {
			t.Fatalf("written back, refused: %v\n%s", err, out)
		}
		// Compared in their written form: nil and empty lists are the same.
		out2, err := yaml.Marshal(again)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("written back and read again differs (%v):\n%s\n---\n%s", err, out, out2)
		}
	})
}
