package main

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"sort"
	"strings"
)

// redacted replaces a secret wherever it appears in a log line.
const redacted = "[REDACTED]"

// redactHandler masks secrets (tokens, passwords) in every log record: in
// the message and in every attribute value, groups included, whatever
// logged it. The set of secrets is fixed at start.
type redactHandler struct {
	next    slog.Handler
	secrets []string // longest first, so a secret inside another is masked whole
}

// newRedactHandler wraps next so that no secret in secrets reaches it.
// Empty secrets are ignored.
func newRedactHandler(next slog.Handler, secrets []string) slog.Handler {
	var s []string
	seen := map[string]bool{}
	for _, v := range secrets {
		if v != "" && !seen[v] {
			seen[v] = true
			s = append(s, v)
		}
	}
	if len(s) == 0 {
		return next
	}
	sort.Slice(s, func(i, j int) bool { return len(s[i]) > len(s[j]) })
	return &redactHandler{next: next, secrets: s}
}

func (h *redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *redactHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.mask(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *redactHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		masked[i] = h.attr(a)
	}
	return &redactHandler{next: h.next.WithAttrs(masked), secrets: h.secrets}
}

func (h *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{next: h.next.WithGroup(h.mask(name)), secrets: h.secrets}
}

func (h *redactHandler) mask(s string) string {
	for _, sec := range h.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, redacted)
		}
	}
	return s
}

// attr masks a's key and value. A value that is not a string (an error, a
// URL, a struct) is masked in its printed form when that holds a secret.
func (h *redactHandler) attr(a slog.Attr) slog.Attr {
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

// secretKey matches the config keys whose string values are secrets.
var secretKey = regexp.MustCompile(`(?i)(token|secret|password|passwd|credential)`)

// configSecrets returns every non-empty string in cfg held under a key
// that names a secret (auth.publish_token, auth.streams.*.token, a TURN
// credential, ...), whatever section declares it.
func configSecrets(cfg any) []string {
	var out []string
	var walk func(v reflect.Value, secret bool)
	walk = func(v reflect.Value, secret bool) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem(), secret)
			}
		case reflect.Struct:
			t := v.Type()
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				if !f.IsExported() {
					continue
				}
				name := strings.Split(f.Tag.Get("yaml"), ",")[0]
				if name == "" {
					name = f.Name
				}
				walk(v.Field(i), secret || secretKey.MatchString(name))
			}
		case reflect.Map:
			iter := v.MapRange()
			for iter.Next() {
				k := fmt.Sprint(iter.Key().Interface())
				walk(iter.Value(), secret || secretKey.MatchString(k))
			}
		case reflect.Slice, reflect.Array:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i), secret)
			}
		case reflect.String:
			if secret && v.String() != "" {
				out = append(out, v.String())
			}
		}
	}
	walk(reflect.ValueOf(cfg), false)
	return out
}
