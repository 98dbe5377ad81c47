package auth

import (
	"regexp"
	"strings"
)

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
	// secretParam matches query or form values that hold credentials.
	secretParam = regexp.MustCompile(`(?i)\b((?:access_)?token|jwt|secret|password|passwd|pass|credential|key|sig|signature)=([^&\s"'#]*)`)
	// bearerValue matches an Authorization value.
	bearerValue = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)([^\s"',]{8,})`)
	// userinfo matches the password of a URL's user:password@.
	userinfo = regexp.MustCompile(`(://[^/@\s:]*:)([^/@\s]*)@`)
	// jwtLike matches a bare JSON Web Token.
	jwtLike = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)
)

// MaskString masks what looks like a credential in s (a URL, an error, a
// log line): values of token=, jwt=, secret=, password=, key= and the like,
// Bearer and Basic values, a URL's password and bare JWTs.
func MaskString(s string) string {
	if s == "" {
		return s
	}
	s = secretParam.ReplaceAllStringFunc(s, func(m string) string {
		k, v, _ := strings.Cut(m, "=")
		return k + "=" + Mask(v)
	})
	s = bearerValue.ReplaceAllStringFunc(s, func(m string) string {
		sub := bearerValue.FindStringSubmatch(m)
		return sub[1] + sub[2] + Mask(sub[3])
	})
	s = userinfo.ReplaceAllString(s, "${1}****@")
	return jwtLike.ReplaceAllStringFunc(s, Mask)
}
