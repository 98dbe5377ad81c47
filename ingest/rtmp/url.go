package rtmp

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// maxURLLen bounds the publish URL a peer may send.
const maxURLLen = 2048

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidName reports whether name may be used as a stream name.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// publishTarget is what a publish URL asks for.
type publishTarget struct {
	name  string
	token string
}

// parsePublishURL reads the stream name and token out of the URL the library
// joins from the connect command's tcUrl and the publish command's stream
// key: rtmp://host[:port]/APP/NAME?token=T. Both ffmpeg (whole URL) and OBS
// (Server rtmp://host/APP, Stream Key NAME?token=T) arrive in this form.
func parsePublishURL(u *url.URL, app string) (publishTarget, error) {
	if u == nil {
		return publishTarget{}, fmt.Errorf("%w: no URL", ErrBadURL)
	}
	if len(u.Path)+len(u.RawQuery) > maxURLLen {
		return publishTarget{}, fmt.Errorf("%w: URL longer than %d bytes", ErrBadURL, maxURLLen)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 2 {
		return publishTarget{}, fmt.Errorf("%w: path %q is not /%s/NAME", ErrBadURL, u.Path, app)
	}
	if parts[0] != app {
		return publishTarget{}, fmt.Errorf("%w: unknown application %q, want %q", ErrBadURL, parts[0], app)
	}
	if !ValidName(parts[1]) {
		return publishTarget{}, fmt.Errorf("%w: stream name %q must match %s", ErrBadURL, parts[1], nameRE)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return publishTarget{}, fmt.Errorf("%w: query: %w", ErrBadURL, err)
	}
	return publishTarget{name: parts[1], token: q.Get("token")}, nil
}
