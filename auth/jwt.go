package auth

import (
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims is what a mediad JWT grants, beside the registered claims:
//
//	{"sub": "alice", "streams": ["cam*"], "actions": ["publish", "play"], "exp": 1767225600}
//
// streams are path.Match patterns of stream names; actions are "publish"
// and/or "play"; exp is required. sub names the holder for
// auth.max_streams_per_token (a token without one counts by itself).
type Claims struct {
	// Streams lists stream-name patterns the token is good for.
	Streams []string `json:"streams"`
	// Actions lists what the token may do: "publish", "play".
	Actions []string `json:"actions"`
	jwt.RegisteredClaims
}

// grants reports whether the claims allow action on stream.
func (c *Claims) grants(action Action, stream string) bool {
	if !slices.Contains(c.Actions, string(action)) {
		return false
	}
	for _, p := range c.Streams {
		if ok, err := path.Match(p, stream); err == nil && ok {
			return true
		}
	}
	return false
}

// verifier is one loaded key, pinned to its algorithm.
type verifier struct {
	id  string
	alg string
	key any
}

var algs = []string{"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "EdDSA"}

// loadKey checks a configured key and loads what verifies with it.
func loadKey(k JWTKey) (verifier, error) {
	v := verifier{id: k.ID, alg: k.Alg}
	if !slices.Contains(algs, k.Alg) {
		return v, fmt.Errorf("alg: %q is not one of %s", k.Alg, strings.Join(algs, ", "))
	}
	if strings.HasPrefix(k.Alg, "HS") {
		if k.PublicKeyFile != "" {
			return v, fmt.Errorf("public_key_file: an %s key is a secret, not a public key", k.Alg)
		}
		if len(k.Secret) < 32 {
			return v, fmt.Errorf("secret: an %s secret needs 32 bytes at least (has %d)", k.Alg, len(k.Secret))
		}
		v.key = []byte(k.Secret)
		return v, nil
	}
	if k.Secret != "" {
		return v, fmt.Errorf("secret: an %s key is a public key file, not a secret", k.Alg)
	}
	if k.PublicKeyFile == "" {
		return v, fmt.Errorf("public_key_file: an %s key needs a PEM public key file", k.Alg)
	}
	pem, err := os.ReadFile(k.PublicKeyFile)
	if err != nil {
		return v, fmt.Errorf("public_key_file: %w", err)
	}
	switch k.Alg[:2] {
	case "RS":
		v.key, err = jwt.ParseRSAPublicKeyFromPEM(pem)
	case "ES":
		v.key, err = jwt.ParseECPublicKeyFromPEM(pem)
	default:
		v.key, err = jwt.ParseEdPublicKeyFromPEM(pem)
	}
	if err != nil {
		return v, fmt.Errorf("public_key_file %s: not a %s public key: %w", k.PublicKeyFile, k.Alg, err)
	}
	return v, nil
}

// jwtVerifier checks tokens against the configured keys.
type jwtVerifier struct {
	keys     []verifier
	issuer   string
	audience string
	now      func() time.Time
}

func newJWTVerifier(c JWT, now func() time.Time) (*jwtVerifier, error) {
	j := &jwtVerifier{issuer: c.Issuer, audience: c.Audience, now: now}
	for i, k := range c.Keys {
		v, err := loadKey(k)
		if err != nil {
			return nil, fmt.Errorf("auth.jwt.keys[%d]: %w", i, err)
		}
		j.keys = append(j.keys, v)
	}
	return j, nil
}

// looksLikeJWT reports whether token has the three parts of a JWS.
func looksLikeJWT(token string) bool { return strings.Count(token, ".") == 2 }

var errNoKey = errors.New("no key for this token")

// verify returns the token's claims when one key's signature and the
// claims check out. Each key accepts only its own algorithm, so a token
// cannot pick how it is verified (no "none", no HS256 over a public key).
func (j *jwtVerifier) verify(token string) (*Claims, error) {
	hdr, err := peekHeader(token)
	if err != nil {
		return nil, err
	}
	opts := []jwt.ParserOption{jwt.WithExpirationRequired(), jwt.WithTimeFunc(j.now)}
	if j.issuer != "" {
		opts = append(opts, jwt.WithIssuer(j.issuer))
	}
	if j.audience != "" {
		opts = append(opts, jwt.WithAudience(j.audience))
	}
	last := errNoKey
	for _, k := range j.keys {
		if k.alg != hdr.alg || (hdr.kid != "" && k.id != hdr.kid) {
			continue
		}
		claims := &Claims{}
		_, err := jwt.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
			if t.Method.Alg() != k.alg {
				return nil, fmt.Errorf("alg %s is not the key's %s", t.Method.Alg(), k.alg)
			}
			return k.key, nil
		}, append(opts, jwt.WithValidMethods([]string{k.alg}))...)
		if err == nil {
			return claims, nil
		}
		last = err
		if !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
			// The signature held: the claims are what failed.
			break
		}
	}
	return nil, jwtReason(last)
}

type jwtHeader struct{ alg, kid string }

// peekHeader reads alg and kid without trusting anything else.
func peekHeader(token string) (jwtHeader, error) {
	t, _, err := jwt.NewParser().ParseUnverified(token, &jwt.MapClaims{})
	if err != nil {
		return jwtHeader{}, errors.New("malformed token")
	}
	h := jwtHeader{}
	h.alg, _ = t.Header["alg"].(string)
	h.kid, _ = t.Header["kid"].(string)
	return h, nil
}

// jwtReason turns a parse error into a short reason for the client.
func jwtReason(err error) error {
	switch {
	case errors.Is(err, errNoKey):
		return errNoKey
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return fmt.Errorf("token lacks a required claim (%v)", err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return errors.New("token expired")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return errors.New("token not valid yet")
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return errors.New("token has the wrong issuer")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return errors.New("token has the wrong audience")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return errors.New("token signature invalid")
	}
	return errors.New("token invalid")
}
