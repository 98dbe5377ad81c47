package rtmp

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
)

// secretParamRE finds the value of a URL query parameter that may carry a
// secret: token=..., also percent-encoded (token%3D...) and at the end of a
// longer name (masking too much is harmless).
var secretParamRE = regexp.MustCompile(`(?i)(token|jwt|key|secret|password|passwd|pass|auth|sig|signature)(=|%3d)[^&\s"'<>]*`)

// userinfoRE finds the password of a URL's user information
// (scheme://user:password@host).
var userinfoRE = regexp.MustCompile(`(://[^/\s:@"']*:)[^@/\s"']*@`)

// maskURL returns s with the values of secret-bearing query parameters and
// URL passwords replaced by "***". s may be a URL or any text holding one,
// such as an error from the RTMP library.
func maskURL(s string) string {
	s = secretParamRE.ReplaceAllString(s, "${1}${2}***")
	return userinfoRE.ReplaceAllString(s, "${1}***@")
}

// maskHandler is a slog.Handler that masks secrets (maskURL) in the message
// and in every string, error and Stringer attribute before passing the
// record on, so no log line of this package carries a token.
type maskHandler struct{ next slog.Handler }

var _ slog.Handler = maskHandler{}

func newMaskHandler(next slog.Handler) slog.Handler { return maskHandler{next: next} }

// Enabled reports whether the wrapped handler handles level.
func (m maskHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return m.next.Enabled(ctx, level)
}

// Handle masks r and passes it on.
func (m maskHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, maskURL(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(maskAttr(a))
		return true
	})
	return m.next.Handle(ctx, out)
}

// WithAttrs masks attrs and returns a masking handler that adds them.
func (m maskHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		masked[i] = maskAttr(a)
	}
	return maskHandler{next: m.next.WithAttrs(masked)}
}

// WithGroup returns a masking handler that opens a group.
func (m maskHandler) WithGroup(name string) slog.Handler {
	return maskHandler{next: m.next.WithGroup(name)}
}

func maskAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, maskURL(v.String()))
	case slog.KindGroup:
		group := v.Group()
		masked := make([]any, len(group))
		for i, g := range group {
			masked[i] = maskAttr(g)
		}
		return slog.Group(a.Key, masked...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, maskURL(x.Error()))
		case fmt.Stringer:
			return slog.String(a.Key, maskURL(x.String()))
		case []byte:
			return slog.String(a.Key, maskURL(string(x)))
		case nil:
		default:
			return slog.String(a.Key, maskURL(fmt.Sprint(x)))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
