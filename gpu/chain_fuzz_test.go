package gpu

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzParseChain feeds the mutation chain parser (the body of PUT
// /api/v1/streams/NAME/mutations and the config's default chains)
// arbitrary bytes, seeded with the chains the README, the operator panel's
// quick-add buttons and the API tests send. A refusal is a *ChainError
// whose index is -1 (the whole chain) or that of an op in it, with a
// message; an accepted chain has at most MaxOps ops, and its normalised
// JSON parses again to the same JSON (so GET shows what PUT put, and a
// persisted chain loads back unchanged).
func FuzzParseChain(f *testing.F) {
	for _, s := range []string{
		// README's example.
		`[{"op":"blur","rect":[0.6,0.1,0.3,0.3],"radius":12},
		  {"op":"watermark","image":"logo.png","at":"top-right","opacity":0.6},
		  {"op":"text","text":"{clock} {stream}","at":"bottom-left"},
		  {"op":"color","brightness":0.1,"saturation":1.2}]`,
		// The operator panel's quick-add ops.
		`[{"op":"blur","rect":[0.35,0.2,0.3,0.4],"radius":16},{"op":"pixelate","rect":[0.35,0.2,0.3,0.4],"block":16}]`,
		`[{"op":"text","text":"{clock} {stream}","at":"bottom-left"},{"op":"stamp"},{"op":"analyze"}]`,
		`[{"op":"watermark","image":"logo.png","at":"top-right","opacity":0.6}]`,
		// Edge cases from the parser's tests.
		`[]`,
		`[{"op":"color"},"blur"]`,
		`[{"op":"blur","radius":"big"}]`,
		`[{"op":"analyze","black_luma":300,"min_duration":-1}]`,
		`[{"op":"blur","rect":[0.1,0.1,0.5,0.5,0.5]}]`,
		`{"op":"color"}`,
		`[{"op":null}] []`,
	} {
		f.Add([]byte(s))
	}
	env := Env{Limits: DefaultLimits(), AssetsDir: "../assets"}
	f.Fuzz(func(t *testing.T, data []byte) {
		specs, err := ParseChain(data, env)
		if err != nil {
			var ce *ChainError
			if !errors.As(err, &ce) || ce.Msg == "" {
				t.Fatalf("refusal %T %q is no *ChainError with a message", err, err)
			}
			if ce.Index < -1 || ce.Index >= env.Limits.MaxOps {
				t.Fatalf("refusal names op %d: %v", ce.Index, err)
			}
			return
		}
		if len(specs) > env.Limits.MaxOps {
			t.Fatalf("%d ops accepted, at most %d", len(specs), env.Limits.MaxOps)
		}
		norm, err := json.Marshal(specs)
		if err != nil {
			t.Fatalf("an accepted chain does not marshal: %v", err)
		}
		again, err := ParseChain(norm, env)
		if err != nil {
			t.Fatalf("the normalised chain %s is refused: %v", norm, err)
		}
		norm2, err := json.Marshal(again)
		if err != nil || string(norm2) != string(norm) {
			t.Fatalf("normalised %s, then %s (%v)", norm, norm2, err)
		}
	})
}
