package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mutstream/mutstream/gpu"
	"github.com/mutstream/mutstream/stream"
)

var (
	errSlow = errors.New("over budget")
	errBusy = errors.New("busy")
)

// fakeMutations parses chains for real and answers as it is told.
type fakeMutations struct {
	chain []gpu.Spec
	err   error // returned by SetChain after a good parse
	sets  int
}

func (m *fakeMutations) Chain(name string) (any, error) {
	if name != "cam" {
		return nil, stream.ErrNotFound
	}
	return m.chain, nil
}

func (m *fakeMutations) SetChain(name string, body []byte) (any, error) {
	if name != "cam" {
		return nil, stream.ErrNotFound
	}
	specs, err := gpu.ParseChain(body, gpu.Env{Limits: gpu.DefaultLimits()})
	if err != nil {
		return nil, err
	}
	if m.err != nil {
		return nil, m.err
	}
	m.sets++
	m.chain = specs
	return specs, nil
}

// TestMutationsAPI drives PUT and GET on /api/v1/streams/NAME/mutations:
// the admin token guards changes, bad chains get 400 with the op's index
// and field, a slow chain 422, a busy pipeline 503 with Retry-After, an
// unknown stream 404, and a refused chain leaves the one in force.
func TestMutationsAPI(t *testing.T) {
	m := &fakeMutations{}
	h, err := NewRouter(stream.NewHub(nil, nil), nil, Options{AdminToken: "s3cret", Mutations: m, OverBudget: errSlow, Busy: errBusy})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	do := func(method, path, token, body string) (int, http.Header, map[string]any) {
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out map[string]any
		_ = json.Unmarshal(b, &out)
		return resp.StatusCode, resp.Header, out
	}
	const path = "/api/v1/streams/cam/mutations"
	good := `[{"op":"color","brightness":0.1}]`
	for _, c := range []struct {
		name, token, body string
		status            int
		index             float64
		field             string
	}{
		{"no token", "", good, 401, -1, ""},
		{"wrong token", "guess", good, 401, -1, ""},
		{"unknown op", "s3cret", `[{"op":"color"},{"op":"sharpen"}]`, 400, 1, "op"},
		{"wrong type", "s3cret", `[{"op":"blur","radius":"big"}]`, 400, 0, "radius"},
		{"rect outside", "s3cret", `[{"op":"blur","rect":[0.8,0,0.5,0.5]}]`, 400, 0, "rect"},
		{"missing image", "s3cret", `[{"op":"watermark","image":"nope.png"}]`, 400, 0, "image"},
		{"text too long", "s3cret", fmt.Sprintf(`[{"op":"text","text":%q}]`, strings.Repeat("x", 5000)), 400, 0, "text"},
		{"not json", "s3cret", `{"op":`, 400, -1, ""},
	} {
		status, hdr, body := do(http.MethodPut, path, c.token, c.body)
		if status != c.status {
			t.Errorf("%s: %d %v, want %d", c.name, status, body, c.status)
			continue
		}
		if status == 401 && !strings.Contains(hdr.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: no WWW-Authenticate: Bearer", c.name)
		}
		if c.index >= 0 && (body["index"] != c.index || body["field"] != c.field) {
			t.Errorf("%s: %v, want index %v field %q", c.name, body, c.index, c.field)
		}
	}
	if m.sets != 0 {
		t.Fatalf("%d chains set by refused requests", m.sets)
	}
	if status, _, _ := do(http.MethodPut, path, "s3cret", good); status != 200 || m.sets != 1 {
		t.Fatalf("a good chain: %d, %d set", status, m.sets)
	}
	m.err = errSlow
	if status, _, body := do(http.MethodPut, path, "s3cret", `[{"op":"blur"}]`); status != 422 {
		t.Errorf("over budget: %d %v, want 422", status, body)
	}
	m.err = fmt.Errorf("apply: %w", errBusy)
	if status, hdr, body := do(http.MethodPut, path, "s3cret", `[{"op":"blur"}]`); status != 503 || hdr.Get("Retry-After") == "" {
		t.Errorf("busy pipeline: %d %v Retry-After %q, want 503 with Retry-After", status, body, hdr.Get("Retry-After"))
	}
	if status, _, _ := do(http.MethodPut, "/api/v1/streams/other/mutations", "s3cret", good); status != 404 {
		t.Errorf("unknown stream: %d, want 404", status)
	}
	if len(m.chain) != 1 || m.chain[0].Op != "color" {
		t.Errorf("chain in force %+v, want the good one", m.chain)
	}
	if status, _, _ := do(http.MethodGet, path, "", ""); status != 200 {
		t.Errorf("GET: %d, want 200 without a token", status)
	}
	m.err = nil
	if status, _, _ := do(http.MethodDelete, path, "", ""); status != 401 || len(m.chain) != 1 {
		t.Errorf("DELETE without a token: %d, chain %+v; want 401 and the chain kept", status, m.chain)
	}
	if status, _, _ := do(http.MethodDelete, path, "s3cret", ""); status != 200 || len(m.chain) != 0 {
		t.Errorf("DELETE: %d, chain %+v; want 200 and no chain", status, m.chain)
	}
}
