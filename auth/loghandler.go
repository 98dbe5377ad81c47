package auth

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
)

// logHandler masks secrets in every log record, in the message and in
// every attribute (keys, values, groups, errors, URLs), whatever logged
// it: the secrets it was given, wherever they appear, and whatever
// MaskString finds (token=..., Bearer ..., a URL's password).
type logHandler struct {
	next    slog.Handler
	secrets []string // longest first, so a secret inside another is masked whole
}

// NewLogHandler wraps next so that no secret reaches it: the given
// secrets (empty ones are ignored) and what MaskString finds.
func NewLogHandler(next slog.Handler, secrets ...string) slog.Handler {
	var s []string
	seen := map[string]bool{}
	for _, v := range secrets {
		if v != "" && !seen[v] {
			seen[v] = true
			s = append(s, v)
		}
	}
	sort.Slice(s, func(i, j int) bool { return len(s[i]) > len(s[j]) })
	return &logHandler{next: next, secrets: s}
}

func (h *logHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.mask(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		masked[i] = h.attr(a)
	}
	return &logHandler{next: h.next.WithAttrs(masked), secrets: h.secrets}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{next: h.next.WithGroup(h.mask(name)), secrets: h.secrets}
}

func (h *logHandler) mask(s string) string {
	for _, sec := range h.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, Masked)
		}
	}
	return MaskString(s)
}

// attr masks a's key and value. A value that is not a string (an error, a
// URL, a struct) is masked in its printed form when that holds a secret.
func (h *logHandler) attr(a slog.Attr) slog.Attr {
	a.Key = h.mask(a.Key)
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(h.mask(v.String()))
	case slog.KindGroup:
		g := v.Group()
		masked := make([]slog.Attr, len(g))
		for i, ga := range g {
			masked[i] = h.attr(ga)
		}
		a.Value = slog.GroupValue(masked...)
	case slog.KindAny:
		s := fmt.Sprint(v.Any())
		if m := h.mask(s); m != s {
			a.Value = slog.StringValue(m)
		} else {
			a.Value = v
		}
	default:
		a.Value = v
	}
	return a
}
