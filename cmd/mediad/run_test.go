package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunCommands(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yml")
	if err := os.WriteFile(bad, []byte("http:\n  adr: :1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string
		err  string
	}{
		{"version", []string{"version"}, 0, "mediad dev", ""},
		{"unknown command", []string{"frobnicate"}, 2, "", "unknown command"},
		{"unknown flag", []string{"serve", "--nope"}, 2, "", "flag provided but not defined"},
		{"help", []string{"--help"}, 0, "", "-webrtc-udp int"},
		{"unknown config key", []string{"--config", bad}, 2, "", "adr"},
		{"missing config", []string{"--config", "/nonexistent.yml"}, 2, "", "nonexistent.yml"},
		{"bad flag value", []string{"--log-level", "loud"}, 2, "", "log.level"},
		{"probe", []string{"probe", "--gpu", "off"}, 0, "encode: CPU", ""},
		{"probe json", []string{"probe", "--gpu", "off", "--json"}, 0, `"stages"`, ""},
		{"probe require without a GPU", []string{"probe", "--gpu", "require"}, 1, "decode:", "gpu"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := os.Stat("/dev/nvidia0"); err == nil && strings.Contains(tc.name, "without a GPU") {
				t.Skip("this machine has a GPU")
			}
			var out, errb bytes.Buffer
			code := run(tc.args, &out, &errb)
			if code != tc.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tc.code, errb.String())
			}
			if !strings.Contains(out.String(), tc.out) || !strings.Contains(errb.String(), tc.err) {
				t.Fatalf("stdout %q stderr %q; want %q / %q", out.String(), errb.String(), tc.out, tc.err)
			}
		})
	}
	var errb bytes.Buffer
	run([]string{"--config", bad}, &bytes.Buffer{}, &errb)
	if !strings.Contains(errb.String(), bad) {
		t.Fatalf("config error does not name the file: %q", errb.String())
	}
}
