package gpu

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseChainErrors(t *testing.T) {
	env := Env{Limits: DefaultLimits()}
	small := Env{Limits: Limits{MaxOps: 4, MaxBlurRadius: 20}}
	cases := []struct {
		name  string
		env   Env
		chain string
		index int
		field string
	}{
		{"unknown op", env, `[{"op":"sharpen"}]`, 0, "op"},
		{"missing op", env, `[{"radius":3}]`, 0, "op"},
		{"op not a string", env, `[{"op":1}]`, 0, "op"},
		{"op not an object", env, `[{"op":"color"},"blur"]`, 1, ""},
		{"wrong type", env, `[{"op":"blur","radius":"big"}]`, 0, "radius"},
		{"unknown field", env, `[{"op":"color","hue":1}]`, 0, "hue"},
		{"rect outside", env, `[{"op":"color"},{"op":"blur","rect":[0.8,0,0.5,0.5]}]`, 1, "rect"},
		{"rect negative", env, `[{"op":"pixelate","rect":[-0.1,0,0.5,0.5]}]`, 0, "rect"},
		{"rect empty", env, `[{"op":"blur","rect":[0.1,0.1,0,0.5]}]`, 0, "rect"},
		{"rect too short", env, `[{"op":"blur","rect":[0.1,0.1,0.5]}]`, 0, "rect"},
		{"rect too long", env, `[{"op":"blur","rect":[0.1,0.1,0.5,0.5,0.5]}]`, 0, "rect"},
		{"rect not numbers", env, `[{"op":"blur","rect":"face"}]`, 0, "rect"},
		{"radius over the limit", env, `[{"op":"blur","radius":65}]`, 0, "radius"},
		{"radius over a configured limit", small, `[{"op":"blur","radius":21}]`, 0, "radius"},
		{"radius zero", env, `[{"op":"blur","radius":0}]`, 0, "radius"},
		{"blur kind", env, `[{"op":"blur","kind":"motion"}]`, 0, "kind"},
		{"odd block", env, `[{"op":"analyze"},{"op":"color"},{"op":"pixelate","block":7}]`, 2, "block"},
		{"block too big", env, `[{"op":"pixelate","block":258}]`, 0, "block"},
		{"brightness", env, `[{"op":"color","brightness":1.5}]`, 0, "brightness"},
		{"contrast", env, `[{"op":"color","contrast":-1}]`, 0, "contrast"},
		{"saturation", env, `[{"op":"color","saturation":5}]`, 0, "saturation"},
		{"gamma", env, `[{"op":"color","gamma":0}]`, 0, "gamma"},
		{"black_luma", env, `[{"op":"analyze","black_luma":300}]`, 0, "black_luma"},
		{"scene_threshold", env, `[{"op":"analyze","scene_threshold":0}]`, 0, "scene_threshold"},
		{"freeze_threshold", env, `[{"op":"analyze","freeze_threshold":2}]`, 0, "freeze_threshold"},
		{"min_duration", env, `[{"op":"analyze","min_duration":-1}]`, 0, "min_duration"},
		{"subsample", env, `[{"op":"analyze","subsample":0}]`, 0, "subsample"},
		{"too many ops", small, `[{"op":"color"},{"op":"color"},{"op":"color"},{"op":"color"},{"op":"color"}]`, -1, ""},
		{"not an array", env, `{"op":"color"}`, -1, ""},
	}
	for _, c := range cases {
		_, err := ParseChain([]byte(c.chain), c.env)
		var ce *ChainError
		if !errors.As(err, &ce) {
			t.Errorf("%s: got %v, want a *ChainError", c.name, err)
			continue
		}
		if !errors.Is(err, ErrChain) {
			t.Errorf("%s: %v is not an ErrChain", c.name, err)
		}
		if ce.Index != c.index || (c.field != "" && ce.Field != c.field) {
			t.Errorf("%s: got index %d field %q (%v), want %d %q", c.name, ce.Index, ce.Field, err, c.index, c.field)
		}
		if c.field != "" && !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: %q does not name %s", c.name, err, c.field)
		}
	}
	_, err := ParseChain([]byte(`[{"op":"color"},{"op":"blur","rect":[0.8,0,0.5,0.5]}]`), env)
	if msg := err.Error(); !strings.HasPrefix(msg, "op 1 (blur): rect: ") {
		t.Errorf("error %q should start with the op index, name and field", msg)
	}
}

func TestParseChainRoundTrip(t *testing.T) {
	in := `[
		{"op":"blur","rect":[0.1,0.2,0.3,0.3],"radius":8,"kind":"box"},
		{"op":"pixelate","block":8},
		{"op":"color","saturation":0.5},
		{"op":"analyze","min_duration":1}
	]`
	want := `[{"op":"blur","rect":[0.1,0.2,0.3,0.3],"radius":8,"kind":"box"},` +
		`{"op":"pixelate","rect":[0,0,1,1],"block":8},` +
		`{"op":"color","brightness":0,"contrast":1,"saturation":0.5,"gamma":1},` +
		`{"op":"analyze","black_luma":32,"scene_threshold":0.35,"freeze_threshold":0.002,"min_duration":1,"subsample":4}]`
	env := Env{Limits: DefaultLimits()}
	specs, err := ParseChain([]byte(in), env)
	if err != nil {
		t.Fatal(err)
	}
	if specs[0].Params.(*BlurParams).Radius != 8 || specs[2].Params.(*ColorParams).Gamma != 1 {
		t.Fatalf("params %+v %+v", specs[0].Params, specs[2].Params)
	}
	out, err := json.Marshal(specs)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != want {
		t.Fatalf("got  %s\nwant %s", out, want)
	}
	again, err := ParseChain(out, env)
	if err != nil {
		t.Fatal(err)
	}
	out2, _ := json.Marshal(again)
	if string(out2) != want {
		t.Fatalf("second round: %s", out2)
	}
	// A Spec built in code marshals the same way.
	s := Spec{Op: "pixelate", Params: &PixelateParams{Rect: FullFrame, Block: 8}}
	if b, _ := json.Marshal(s); string(b) != `{"op":"pixelate","rect":[0,0,1,1],"block":8}` {
		t.Fatalf("built spec: %s", b)
	}
}

func TestDefaultsValidate(t *testing.T) {
	env := Env{Limits: DefaultLimits()}
	for _, op := range []string{"color", "blur", "pixelate", "analyze"} {
		if _, err := ParseChain([]byte(`[{"op":"`+op+`"}]`), env); err != nil {
			t.Errorf("%s with its defaults: %v", op, err)
		}
	}
	// An Env with no limits falls back to the defaults for the radius.
	if _, err := ParseChain([]byte(`[{"op":"blur","radius":64}]`), Env{}); err != nil {
		t.Errorf("radius 64 with zero limits: %v", err)
	}
}
