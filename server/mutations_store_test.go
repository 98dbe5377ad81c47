package server

import (
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mutstream/mutstream/config"
	"github.com/mutstream/mutstream/gpu/cpu"
	"github.com/mutstream/mutstream/stream"
)

// storeMutations builds the server's mutations on a state_dir, with an
// empty hub.
func storeMutations(t *testing.T, dir string, edit func(*config.Config)) (*mutations, error) {
	t.Helper()
	cfg := config.Default()
	cfg.StateDir = dir
	cfg.Mutations.OverBudget = "warn"
	if edit != nil {
		edit(&cfg)
	}
	m, err := newMutations(cfg, cpu.New(1), slog.Default())
	if err != nil {
		return nil, err
	}
	m.hub = stream.NewHub(func(*stream.Publication) (stream.Pipeline, error) { return nopPipeline{}, nil }, nil)
	t.Cleanup(m.hub.Close)
	return m, nil
}

// chainJSON is the chain GET returns for name, as JSON.
func chainJSON(t *testing.T, m *mutations, name string) string {
	t.Helper()
	res, err := m.Chain(name)
	if err != nil {
		t.Fatalf("Chain(%s): %v", name, err)
	}
	b, err := json.Marshal(res.(ChainState).Chain)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestChainStore: a chain set for a stream that is not live is stored,
// returned by GET and loaded by the next server on the same state_dir; an
// empty chain clears it (or, over a configured default, is kept as the
// override); no temporary file is left behind.
func TestChainStore(t *testing.T) {
	dir := t.TempDir()
	defaults := func(c *config.Config) {
		c.Mutations.Defaults = []config.DefaultChain{{Streams: "cam*", Chain: []map[string]any{{"op": "analyze"}}}}
	}
	m, err := storeMutations(t, dir, defaults)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Chain("later"); !errors.Is(err, stream.ErrNotFound) {
		t.Fatalf("GET of an unknown stream: %v, want ErrNotFound", err)
	}
	const blur = `[{"op":"blur","radius":6,"rect":[0.25,0.25,0.5,0.5]}]`
	if _, err := m.SetChain("later", []byte(blur)); err != nil {
		t.Fatalf("PUT before the stream is live: %v", err)
	}
	if _, err := m.SetChain("cam1", []byte(`[]`)); err != nil {
		t.Fatal(err)
	}
	want := chainJSON(t, m, "later")
	if !strings.Contains(want, `"blur"`) || chainJSON(t, m, "cam1") != "[]" {
		t.Fatalf("GET: later %s, cam1 %s", want, chainJSON(t, m, "cam1"))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != chainsFile {
		t.Fatalf("state_dir holds %v, want only %s", entries, chainsFile)
	}
	if st, err := os.Stat(filepath.Join(dir, chainsFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("chains file: %v, %v; want mode 0600", st, err)
	}

	// A restart: the chains come back before any stream is live.
	m2, err := storeMutations(t, dir, defaults)
	if err != nil {
		t.Fatal(err)
	}
	if got := chainJSON(t, m2, "later"); got != want {
		t.Errorf("after a restart: %s, want %s", got, want)
	}
	if got := chainJSON(t, m2, "cam1"); got != "[]" {
		t.Errorf("after a restart, the empty override of cam1's default is %s", got)
	}
	if got := m2.chainFor("later"); len(got) != 1 || got[0].Op != "blur" {
		t.Errorf("a pipeline for later would start with %v", got)
	}

	// An empty chain with no default to override forgets the stream.
	if _, err := m2.SetChain("later", []byte(`[]`)); err != nil {
		t.Fatal(err)
	}
	m3, err := storeMutations(t, dir, defaults)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m3.Chain("later"); !errors.Is(err, stream.ErrNotFound) {
		t.Errorf("a cleared chain: GET %v, want ErrNotFound", err)
	}
	if _, ok := m3.chains["cam1"]; !ok {
		t.Error("cam1's empty override was lost")
	}
}

// TestChainStoreFailsClosed: a chains file that cannot be read in full is
// a start-up error naming state_dir, so that no stream starts without its
// chain; a chain that cannot be stored is not applied.
func TestChainStoreFailsClosed(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"truncated", `{"version":1,"chains":{"cam":[{"op":"blur"`, "unexpected EOF"},
		{"not json", "garbage", "invalid character"},
		{"version", `{"version":2,"chains":{}}`, "version 2"},
		{"unknown key", `{"version":1,"chains":{},"extra":1}`, "unknown field"},
		{"bad op", `{"version":1,"chains":{"cam":[{"op":"nope"}]}}`, `"cam"`},
		{"bad name", `{"version":1,"chains":{"a b":[]}}`, `"a b"`},
		{"missing watermark", `{"version":1,"chains":{"cam":[{"op":"watermark","image":"gone.png"}]}}`, "gone.png"},
		{"trailing", `{"version":1,"chains":{}} {}`, "after the JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, chainsFile), []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := storeMutations(t, dir, nil)
			if err == nil || !strings.Contains(err.Error(), "state_dir") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("newMutations = %v, want an error naming state_dir and %q", err, tc.want)
			}
		})
	}

	// state_dir cannot be read: a start-up error too.
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := storeMutations(t, file, nil); err == nil || !strings.Contains(err.Error(), "state_dir") {
		t.Errorf("state_dir is a file: %v, want a start-up error", err)
	}

	// state_dir becomes a file after start: nothing can be stored, so
	// nothing changes.
	later := filepath.Join(t.TempDir(), "later")
	m, err := storeMutations(t, later, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(later, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SetChain("cam", []byte(`[{"op":"color","brightness":0.1}]`)); err == nil {
		t.Fatal("a chain that cannot be stored was accepted")
	}
	if _, err := m.Chain("cam"); !errors.Is(err, stream.ErrNotFound) {
		t.Errorf("a chain that could not be stored is in force: %v", err)
	}

	// No state_dir: chains live in memory only.
	m, err = storeMutations(t, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.SetChain("cam", []byte(`[{"op":"color","brightness":0.1}]`)); err != nil {
		t.Fatal(err)
	}
}
