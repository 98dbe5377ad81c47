package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStateDirAndOnError: the example file's state_dir and on_error are
// the defaults; a relative state_dir is resolved next to the config file;
// an unknown on_error is an error naming the key.
func TestStateDirAndOnError(t *testing.T) {
	cfg, err := Load("../mediad.yml")
	if err != nil {
		t.Fatal(err)
	}
	def := Default()
	if cfg.StateDir != filepath.Join("..", def.StateDir) || cfg.Mutations.OnError != def.Mutations.OnError || def.Mutations.OnError != "hold" {
		t.Errorf("state_dir %q, on_error %q; want %q next to the file and %q", cfg.StateDir, cfg.Mutations.OnError, def.StateDir, def.Mutations.OnError)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "m.yml")
	if err := os.WriteFile(path, []byte("state_dir: st\nmutations: {on_error: black}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if cfg, err = Load(path); err != nil || cfg.StateDir != filepath.Join(dir, "st") || cfg.Mutations.OnError != "black" {
		t.Errorf("Load = %q %q, %v; want %q and black", cfg.StateDir, cfg.Mutations.OnError, err, filepath.Join(dir, "st"))
	}
	if err := os.WriteFile(path, []byte("state_dir: \"\"\nmutations: {on_error: pass}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err = Load(path); err == nil || !strings.Contains(err.Error(), "mutations.on_error") {
		t.Errorf("on_error: pass: %v, want an error naming mutations.on_error", err)
	}
}
