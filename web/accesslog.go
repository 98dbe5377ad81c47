package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/mutstream/mutstream/auth"
)

// maskQuery returns a raw query string with the values of secret-looking
// parameters (token=, access_token=, ...) replaced by "***"; other
// parameters are kept as they came. It never fails: a part it cannot
// decode is masked whole.
func maskQuery(raw string) string {
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		k, _, hasValue := strings.Cut(p, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			parts[i] = auth.Masked
			continue
		}
		if hasValue && auth.SecretName(key) {
			parts[i] = k + "=" + auth.Masked
		}
	}
	return strings.Join(parts, "&")
}

// logTarget is the path and, masked, the query of a request, for logs.
func logTarget(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return r.URL.Path
	}
	return r.URL.Path + "?" + maskQuery(r.URL.RawQuery)
}

// accessLog logs each request at debug level, and errors at info. The
// query is logged with its secrets masked; headers are never logged.
func accessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		lvl := slog.LevelDebug
		if status >= 400 {
			lvl = slog.LevelInfo
		}
		log.Log(c.Request.Context(), lvl, "http", "method", c.Request.Method, "path", logTarget(c.Request),
			"status", status, "took", time.Since(start).Round(time.Microsecond), "remote", c.ClientIP())
	}
}

// recovery answers 500 to a handler that panicked and logs it with the
// masked target and the stack (gin's own Recovery prints the request line,
// query and all). http.ErrAbortHandler goes on up, as net/http expects.
func recovery(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			log.Error("http handler panicked", "method", c.Request.Method, "path", logTarget(c.Request),
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !c.Writer.Written() {
				c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": "internal error"})
				return
			}
			c.Abort()
		}()
		c.Next()
	}
}
