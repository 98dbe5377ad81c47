package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const hsSecret = "0123456789abcdef0123456789abcdef"

var testNow = time.Unix(1_800_000_000, 0)

// writePEM stores a public key as a PEM file and returns its path.
func writePEM(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pub.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type jwtKeys struct {
	rsa    *rsa.PrivateKey
	ed     ed25519.PrivateKey
	rsaPEM string
	edPEM  string
}

func newJWTKeys(t *testing.T) jwtKeys {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, ek, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return jwtKeys{rsa: rk, ed: ek, rsaPEM: writePEM(t, &rk.PublicKey), edPEM: writePEM(t, ek.Public())}
}

func sign(t *testing.T, m jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func claims(sub string, streams, actions []string, exp time.Time) jwt.MapClaims {
	c := jwt.MapClaims{"streams": streams, "actions": actions}
	if sub != "" {
		c["sub"] = sub
	}
	if !exp.IsZero() {
		c["exp"] = exp.Unix()
	}
	return c
}

func newJWTAuthorizer(t *testing.T, k jwtKeys, play string) *Authorizer {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Play = play
	cfg.JWT.Keys = []JWTKey{
		{Alg: "HS256", Secret: hsSecret},
		{ID: "rsa1", Alg: "RS256", PublicKeyFile: k.rsaPEM},
		{Alg: "EdDSA", PublicKeyFile: k.edPEM},
	}
	a, err := New(cfg, Options{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestJWT(t *testing.T) {
	k := newJWTKeys(t)
	a := newJWTAuthorizer(t, k, PlayToken)
	hour := testNow.Add(time.Hour)
	cam := claims("alice", []string{"cam*"}, []string{"publish", "play"}, hour)
	playOnly := claims("bob", []string{"*"}, []string{"play"}, hour)
	rsaPEM, _ := os.ReadFile(k.rsaPEM)
	for _, tc := range []struct {
		name   string
		token  string
		action Action
		stream string
		want   string // "" allows; else in the error
		id     string
	}{
		{"HS256 publish", sign(t, jwt.SigningMethodHS256, []byte(hsSecret), "", cam), Publish, "cam1", "", "jwt:alice"},
		{"HS256 play", sign(t, jwt.SigningMethodHS256, []byte(hsSecret), "", cam), Play, "cam1", "", "jwt:alice"},
		{"RS256 with kid", sign(t, jwt.SigningMethodRS256, k.rsa, "rsa1", cam), Publish, "cam2", "", "jwt:alice"},
		{"RS256 without kid", sign(t, jwt.SigningMethodRS256, k.rsa, "", cam), Publish, "cam2", "", "jwt:alice"},
		{"EdDSA", sign(t, jwt.SigningMethodEdDSA, k.ed, "", cam), Publish, "cam3", "", "jwt:alice"},
		{"stream not granted", sign(t, jwt.SigningMethodHS256, []byte(hsSecret), "", cam), Publish, "studio", `does not grant publish on "studio"`, ""},
		{"action not granted", sign(t, jwt.SigningMethodEdDSA, k.ed, "", playOnly), Publish, "cam1", "does not grant publish", ""},
		{"play-only plays", sign(t, jwt.SigningMethodEdDSA, k.ed, "", playOnly), Play, "anything", "", "jwt:bob"},
		{"expired", sign(t, jwt.SigningMethodHS256, []byte(hsSecret), "", claims("a", []string{"*"}, []string{"publish"}, testNow.Add(-time.Second))), Publish, "cam1", "expired", ""},
		{"no exp", sign(t, jwt.SigningMethodHS256, []byte(hsSecret), "", claims("a", []string{"*"}, []string{"publish"}, time.Time{})), Publish, "cam1", "exp claim is required", ""},
		{"not yet valid", sign(t, jwt.SigningMethodHS256, []byte(hsSecret), "", jwt.MapClaims{"streams": []string{"*"}, "actions": []string{"publish"}, "exp": hour.Unix(), "nbf": hour.Add(-time.Minute).Unix()}), Publish, "cam1", "not valid yet", ""},
		{"wrong secret", sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("x", 32)), "", cam), Publish, "cam1", "signature invalid", ""},
		{"alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", cam), Publish, "cam1", "no key", ""},
		// The classic confusion: HS256 keyed with the RSA public key's PEM,
		// naming the RSA key's kid.
		{"HS256 over the RSA public key", sign(t, jwt.SigningMethodHS256, rsaPEM, "rsa1", cam), Publish, "cam1", "no key", ""},
		{"HS256 over the RSA public key, no kid", sign(t, jwt.SigningMethodHS256, rsaPEM, "", cam), Publish, "cam1", "signature invalid", ""},
		{"HS512 not configured", sign(t, jwt.SigningMethodHS512, []byte(hsSecret), "", cam), Publish, "cam1", "no key", ""},
		{"garbage", "a.b.c", Publish, "cam1", "malformed", ""},
		{"no token", "", Play, "cam1", "missing bearer", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := a.Authorize(context.Background(), Request{Action: tc.action, Stream: tc.stream, Token: tc.token, Protocol: "whip"})
			if tc.want == "" {
				if err != nil || g.Identity != tc.id {
					t.Fatalf("refused: %v (identity %q)", err, g.Identity)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if !errors.Is(err, ErrBadToken) && !errors.Is(err, ErrNoToken) {
				t.Fatalf("err %v is neither ErrBadToken nor ErrNoToken", err)
			}
		})
	}
}

func TestJWTIssuerAudience(t *testing.T) {
	cfg := DefaultConfig()
	cfg.JWT = JWT{Keys: []JWTKey{{Alg: "HS256", Secret: hsSecret}}, Issuer: "portal", Audience: "mediad"}
	a, err := New(cfg, Options{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	c := claims("", []string{"*"}, []string{"publish"}, testNow.Add(time.Hour))
	if err := a.Check(context.Background(), Request{Action: Publish, Stream: "x", Token: sign(t, jwt.SigningMethodHS256, []byte(hsSecret), "", c)}); err == nil || !strings.Contains(err.Error(), "iss claim is required") {
		t.Fatalf("no iss: %v", err)
	}
	c["iss"], c["aud"] = "portal", []string{"other", "mediad"}
	g, err := a.Authorize(context.Background(), Request{Action: Publish, Stream: "x", Token: sign(t, jwt.SigningMethodHS256, []byte(hsSecret), "", c)})
	if err != nil || !strings.HasPrefix(g.Identity, "jwt#") {
		t.Fatalf("iss and aud right: %v %q", err, g.Identity)
	}
	c["aud"] = "elsewhere"
	if err := a.Check(context.Background(), Request{Action: Publish, Stream: "x", Token: sign(t, jwt.SigningMethodHS256, []byte(hsSecret), "", c)}); err == nil || !strings.Contains(err.Error(), "audience") {
		t.Fatalf("wrong aud: %v", err)
	}
}

func TestJWTKeyConfig(t *testing.T) {
	k := newJWTKeys(t)
	for _, tc := range []struct {
		key  JWTKey
		want string
	}{
		{JWTKey{Alg: "none"}, "alg"},
		{JWTKey{Alg: "HS256", Secret: "short"}, "32 bytes"},
		{JWTKey{Alg: "HS256", Secret: hsSecret, PublicKeyFile: k.rsaPEM}, "public_key_file"},
		{JWTKey{Alg: "RS256"}, "public_key_file"},
		{JWTKey{Alg: "RS256", Secret: hsSecret}, "secret"},
		{JWTKey{Alg: "RS256", PublicKeyFile: k.edPEM}, "not a RS256 public key"},
		{JWTKey{Alg: "EdDSA", PublicKeyFile: k.rsaPEM}, "not a EdDSA public key"},
		{JWTKey{Alg: "EdDSA", PublicKeyFile: "/nonexistent.pem"}, "no such file"},
	} {
		cfg := DefaultConfig()
		cfg.JWT.Keys = []JWTKey{tc.key}
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), "auth.jwt.keys[0]") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.key, err, tc.want)
		}
	}
}
