package auth

import (
	"regexp"
	"strings"
)

// Masked stands in for a secret in logs.
const Masked = "***"

// secretNames are parts of parameter names whose values are credentials:
// token, access_token, stream_key, jwt, secret, password, credential,
// auth, sig, signature, ...
var secretNames = []string{"token", "jwt", "secret", "pass", "credential", "auth", "key", "sig"}

// SecretName reports whether a parameter named name (a query key, a form
// field) holds a credential.
func SecretName(name string) bool {
	name = strings.ToLower(name)
	for _, s := range secretNames {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// Mask hides a secret for a log line: its first four characters of a
// long one (so an operator can tell tokens apart), nothing of a short one.
func Mask(s string) string {
	switch {
	case s == "":
		return ""
	case len(s) < 16:
		return "****"
	}
	return s[:4] + "****"
}

var (
	// secretParam matches a parameter whose name holds one of secretNames,
	// with its value, also percent-encoded (token%3D...).
	secretParam = regexp.MustCompile(`(?i)([a-z0-9_.-]*(?:` + strings.Join(secretNames, "|") + `)[a-z0-9_.-]*)(=|%3d)([^&\s"'#<>]*)`)
	// bearerValue matches an Authorization value.
	bearerValue = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)([^\s"',]{8,})`)
	// userinfo matches the password of a URL's user:password@.
	userinfo = regexp.MustCompile(`(://[^/@\s:"']*:)([^/@\s"']*)@`)
	// jwtLike matches a bare JSON Web Token.
	jwtLike = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)
)

// MaskString replaces with Masked what looks like a credential in s (a
// URL, an error, a log line): values of parameters named like secrets
// (token=, stream_key=, password=, ...), Bearer and Basic values, a URL's
// password and bare JWTs.
func MaskString(s string) string {
	if s == "" {
		return s
	}
	s = secretParam.ReplaceAllStringFunc(s, func(m string) string {
		sub := secretParam.FindStringSubmatch(m)
		if sub[3] == "" || sub[3] == Masked {
			return m
		}
		return sub[1] + sub[2] + Masked
	})
	s = bearerValue.ReplaceAllString(s, "${1}${2}"+Masked)
	s = userinfo.ReplaceAllString(s, "${1}"+Masked+"@")
	return jwtLike.ReplaceAllString(s, Masked)
}
