package web

import (
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// Mounter adds routes to the router (the WHEP server does).
type Mounter interface {
	Mount(r gin.IRouter)
}

// NewRouter returns the HTTP handler for pages, the REST API, /metrics,
// /healthz and whatever the mounters add.
func NewRouter(hub *stream.Hub, log *slog.Logger, mounters ...Mounter) (http.Handler, error) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery(), accessLog(log))
	assets, err := fs.Sub(Assets, "assets")
	if err != nil {
		return nil, err
	}
	page := func(name string) gin.HandlerFunc {
		return func(c *gin.Context) {
			b, err := fs.ReadFile(assets, name)
			if err != nil {
				c.String(http.StatusInternalServerError, "missing page %s", name)
				return
			}
			c.Header("Cache-Control", "no-cache")
			c.Data(http.StatusOK, "text/html; charset=utf-8", b)
		}
	}
	r.GET("/", page("index.html"))
	r.GET("/watch/:name", page("watch.html"))
	r.GET("/publish/:name", page("publish.html"))
	r.StaticFS("/assets", http.FS(assets))
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(metrics.Registry, promhttp.HandlerOpts{})))
	api := &api{hub: hub}
	v1 := r.Group("/api/v1")
	v1.GET("/streams", api.listStreams)
	v1.GET("/streams/:name", api.getStream)
	for _, m := range mounters {
		m.Mount(r)
	}
	r.NoRoute(func(c *gin.Context) {
		c.JSON(http.StatusNotFound, gin.H{"error": "not found: " + c.Request.URL.Path})
	})
	return r, nil
}

type api struct {
	hub *stream.Hub
}

func (a *api) listStreams(c *gin.Context) {
	out := []stream.Info{}
	for _, st := range a.hub.Streams() {
		out = append(out, st.Info())
	}
	c.JSON(http.StatusOK, gin.H{"streams": out})
}

func (a *api) getStream(c *gin.Context) {
	st, err := a.hub.Lookup(c.Param("name"))
	if errors.Is(err, stream.ErrNotFound) {
		metrics.HTTPRejected.WithLabelValues("api", "404").Inc()
		c.JSON(http.StatusNotFound, gin.H{"error": "no stream named " + c.Param("name")})
		return
	}
	c.JSON(http.StatusOK, st.Info())
}

// accessLog logs each request at debug level, and errors at info.
func accessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		lvl := slog.LevelDebug
		if status >= 400 {
			lvl = slog.LevelInfo
		}
		log.Log(c.Request.Context(), lvl, "http", "method", c.Request.Method, "path", c.Request.URL.Path,
			"status", status, "took", time.Since(start).Round(time.Microsecond), "remote", c.ClientIP())
	}
}
