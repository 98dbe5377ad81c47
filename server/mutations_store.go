package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"github.com/mutstream/mutstream/gpu"
)

// chainsFile is the name of the file under state_dir that holds the chains
// set through the API.
const chainsFile = "mutations.json"

// maxChainsFile bounds the file read at start.
const maxChainsFile = 64 << 20

// chainsVersion is the version of chainsFile's layout.
const chainsVersion = 1

// validStreamName is a name a stream may have (as RTMP and WHIP accept).
var validStreamName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// chainStore keeps the chains set through the API in one JSON file,
// written atomically (a temporary file in the same directory, synced, then
// renamed over the old one, and the directory synced), so that a crash
// leaves the old file or the new one, never a mix. An empty dir keeps
// nothing.
type chainStore struct {
	dir string
}

// chainsJSON is chainsFile's layout.
type chainsJSON struct {
	Version int                        `json:"version"`
	Chains  map[string]json.RawMessage `json:"chains"`
}

// path is the file's path, "" without a directory.
func (s chainStore) path() string {
	if s.dir == "" {
		return ""
	}
	return filepath.Join(s.dir, chainsFile)
}

// load reads the stored chains, each checked as a PUT's body is with env
// (a watermark's picture must still be there). No file is no chains. Any
// other problem is an error: a stream whose privacy chain cannot be read
// must not start unchained.
func (s chainStore) load(env gpu.Env) (map[string][]gpu.Spec, error) {
	out := map[string][]gpu.Spec{}
	p := s.path()
	if p == "" {
		return out, nil
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state_dir: read the stored mutation chains: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxChainsFile+1))
	if err != nil {
		return nil, fmt.Errorf("state_dir: read %s: %w", p, err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("state_dir: %s is not a valid chains file: %s; fix or remove it (mediad does not start a stream without its chain)",
			p, fmt.Sprintf(format, args...))
	}
	if len(b) > maxChainsFile {
		return nil, bad("more than %d bytes", maxChainsFile)
	}
	var cf chainsJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cf); err != nil {
		return nil, bad("%v", err)
	}
	if dec.More() {
		return nil, bad("data after the JSON object")
	}
	if cf.Version != chainsVersion {
		return nil, bad("version %d, want %d", cf.Version, chainsVersion)
	}
	for name, raw := range cf.Chains {
		if !validStreamName.MatchString(name) {
			return nil, bad("stream name %q: 1-64 of A-Z a-z 0-9 _ -", name)
		}
		specs, err := gpu.ParseChain(raw, env)
		if err != nil {
			return nil, bad("the chain of stream %q: %v", name, err)
		}
		out[name] = specs
	}
	return out, nil
}

// save replaces the file with chains.
func (s chainStore) save(chains map[string][]gpu.Spec) error {
	p := s.path()
	if p == "" {
		return nil
	}
	cf := chainsJSON{Version: chainsVersion, Chains: make(map[string]json.RawMessage, len(chains))}
	for name, specs := range chains {
		b, err := json.Marshal(specs)
		if err != nil {
			return fmt.Errorf("store the chain of %q: %w", name, err)
		}
		cf.Chains[name] = b
	}
	b, err := json.MarshalIndent(cf, "", "  ")
	if err != nil {
		return fmt.Errorf("store the mutation chains: %w", err)
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("store the mutation chains: %w", err)
	}
	tmp, err := os.CreateTemp(s.dir, "."+chainsFile+".*.tmp")
	if err != nil {
		return fmt.Errorf("store the mutation chains: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("store the mutation chains: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("store the mutation chains: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("store the mutation chains: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("store the mutation chains: %w", err)
	}
	done = true
	if d, err := os.Open(s.dir); err == nil {
		err = d.Sync() // the rename itself survives a crash
		_ = d.Close()
		if err != nil {
			return fmt.Errorf("store the mutation chains: sync %s: %w", s.dir, err)
		}
	}
	return nil
}
