package gpu

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Params are one op's parameters, decoded from JSON and validated.
type Params interface {
	// Validate checks the fields (and loads what they name, such as a
	// watermark image) and returns an error naming the bad field.
	Validate(env Env) error
}

// Env is what validation may use: limits and where assets live.
type Env struct {
	Limits Limits
	// AssetsDir is where watermark images are looked up.
	AssetsDir string
}

// Limits bound what a chain may ask for.
type Limits struct {
	// MaxOps is the most ops in one chain.
	MaxOps int `yaml:"max_ops"`
	// MaxImageBytes is the largest watermark file.
	MaxImageBytes int64 `yaml:"max_image_bytes"`
	// MaxImagePixels is the largest watermark picture (width x height).
	MaxImagePixels int `yaml:"max_image_pixels"`
	// MaxTextRunes is the longest text.
	MaxTextRunes int `yaml:"max_text_runes"`
	// MaxBlurRadius is the largest blur radius, in pixels.
	MaxBlurRadius int `yaml:"max_blur_radius"`
}

// DefaultLimits returns the limits used when none are configured.
func DefaultLimits() Limits {
	return Limits{MaxOps: 16, MaxImageBytes: 2 << 20, MaxImagePixels: 1920 * 1080, MaxTextRunes: 200, MaxBlurRadius: 64}
}

// Spec is one op of a chain: its name and validated parameters. Its JSON
// form is the parameters' fields plus "op".
type Spec struct {
	Op     string
	Params Params
	raw    json.RawMessage
}

// MarshalJSON writes the op as the client sent it (normalised).
func (s Spec) MarshalJSON() ([]byte, error) {
	if len(s.raw) > 0 {
		return s.raw, nil
	}
	b, err := json.Marshal(s.Params)
	if err != nil {
		return nil, err
	}
	return append([]byte(`{"op":`+fmt.Sprintf("%q", s.Op)+`,`), b[1:]...), nil
}

// ChainError says which op and which field of a chain is wrong.
type ChainError struct {
	Index int    `json:"index"`
	Op    string `json:"op,omitempty"`
	Field string `json:"field,omitempty"`
	Msg   string `json:"error"`
}

// Unwrap makes every ChainError an ErrChain for errors.Is.
func (e *ChainError) Unwrap() error { return ErrChain }

func (e *ChainError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "op %d", e.Index)
	if e.Op != "" {
		fmt.Fprintf(&b, " (%s)", e.Op)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": %s", e.Field)
	}
	fmt.Fprintf(&b, ": %s", e.Msg)
	return b.String()
}

// FieldError is what Validate returns for a bad field; ParseChain adds the
// op's index and name.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Fieldf builds a FieldError.
func Fieldf(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

var (
	regMu    sync.RWMutex
	registry = map[string]func() Params{}
)

// Register makes an op known by name; newParams returns its parameters
// with their defaults filled in. Ops register in init.
func Register(name string, newParams func() Params) {
	regMu.Lock()
	defer regMu.Unlock()
	registry[name] = newParams
}

// Ops returns the names of the registered ops, sorted.
func Ops() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ErrChain is wrapped by every chain parsing error.
var ErrChain = errors.New("invalid mutation chain")

// ParseChain decodes and validates a JSON array of ops. Unknown ops,
// unknown fields, wrong types and bad values are *ChainError naming the op's
// index and the field.
func ParseChain(data []byte, env Env) ([]Spec, error) {
	var raws []json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raws); err != nil {
		return nil, &ChainError{Index: -1, Msg: "the chain must be a JSON array of ops: " + err.Error()}
	}
	if dec.More() {
		return nil, &ChainError{Index: -1, Msg: "trailing data after the JSON array"}
	}
	if env.Limits.MaxOps > 0 && len(raws) > env.Limits.MaxOps {
		return nil, &ChainError{Index: -1, Msg: fmt.Sprintf("%d ops: at most %d", len(raws), env.Limits.MaxOps)}
	}
	specs := make([]Spec, 0, len(raws))
	for i, raw := range raws {
		s, err := parseOp(i, raw, env)
		if err != nil {
			return nil, err
		}
		specs = append(specs, s)
	}
	return specs, nil
}

func parseOp(i int, raw json.RawMessage, env Env) (Spec, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return Spec{}, &ChainError{Index: i, Msg: "an op must be a JSON object"}
	}
	rawOp, ok := fields["op"]
	if !ok || string(rawOp) == "null" {
		return Spec{}, &ChainError{Index: i, Field: "op", Msg: "missing; one of " + strings.Join(Ops(), ", ")}
	}
	var op string
	if err := json.Unmarshal(rawOp, &op); err != nil {
		return Spec{}, &ChainError{Index: i, Field: "op", Msg: "must be a string; one of " + strings.Join(Ops(), ", ")}
	}
	regMu.RLock()
	newParams, ok := registry[op]
	regMu.RUnlock()
	if !ok {
		return Spec{}, &ChainError{Index: i, Field: "op", Msg: fmt.Sprintf("unknown op %q; one of %s", op, strings.Join(Ops(), ", "))}
	}
	p := newParams()
	// Decode strictly, with "op" removed.
	delete(fields, "op")
	rest, _ := json.Marshal(fields)
	dec := json.NewDecoder(bytes.NewReader(rest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p); err != nil {
		ce := &ChainError{Index: i, Op: op, Msg: err.Error()}
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			ce.Field = te.Field
			ce.Msg = fmt.Sprintf("wrong type: got %s, want %s", te.Value, te.Type)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			ce.Field = strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			ce.Msg = "unknown field"
		}
		return Spec{}, ce
	}
	if err := p.Validate(env); err != nil {
		ce := &ChainError{Index: i, Op: op, Msg: err.Error()}
		var fe *FieldError
		if errors.As(err, &fe) {
			ce.Field, ce.Msg = fe.Field, fe.Msg
		}
		return Spec{}, ce
	}
	norm, err := json.Marshal(p)
	if err != nil {
		return Spec{}, &ChainError{Index: i, Op: op, Msg: err.Error()}
	}
	norm = append([]byte(`{"op":`+fmt.Sprintf("%q", op)+`,`), norm[1:]...)
	if string(norm) == `{"op":"`+op+`",}` {
		norm = []byte(`{"op":"` + op + `"}`)
	}
	return Spec{Op: op, Params: p, raw: norm}, nil
}
