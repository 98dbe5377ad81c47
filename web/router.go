package web

import (
	"errors"
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mutstream/mutstream/metrics"
	"github.com/mutstream/mutstream/stream"
)

// Mounter adds routes to the router (the WHEP server does).
type Mounter interface {
	Mount(r gin.IRouter)
}

// Mutations is the control side of mutation chains, as the API needs it.
type Mutations interface {
	// Chain returns the chain in force (JSON-able); stream.ErrNotFound for
	// an unknown stream.
	Chain(name string) (any, error)
	// SetChain parses and applies a JSON chain; a *gpu.ChainError is a bad
	// chain, an error wrapping ErrOverBudget one that is too slow.
	SetChain(name string, body []byte) (any, error)
}

// Options are the optional parts of the router.
type Options struct {
	// AdminToken guards changes of mutation chains.
	AdminToken string
	// Mutations serves /api/v1/streams/NAME/mutations; nil leaves it out.
	Mutations Mutations
	// OverBudget is the error SetChain wraps for a chain that is too slow.
	OverBudget error
	// Busy is the error SetChain wraps when the live pipeline did not take
	// the chain in time (503, try again).
	Busy error
	// Capabilities returns what /api/v1/capabilities shows.
	Capabilities func() any
	// Viewers returns a stream's viewers with their recent history, for
	// GET /api/v1/streams/NAME/viewers and the dashboard.
	Viewers func(stream string) any
	// Done, when closed, ends long-lived responses (server-sent events) so
	// the server can shut down.
	Done <-chan struct{}
	// TrustedProxies are the addresses (IPs or CIDRs) of reverse proxies
	// whose X-Forwarded-For names the client; nil trusts none, so the
	// client address is the socket's (http.trusted_proxies).
	TrustedProxies []string
	// PlayAuth, when set, guards every read of stream state (the stream
	// list and info, events, viewers, mutations GET, capabilities): nil
	// error lets the request through, anything else is 401. stream is ""
	// on the list endpoints. A token=T query parameter (EventSource cannot
	// send headers) arrives as "Authorization: Bearer T", so PlayAuth only
	// reads the header (BearerToken). The admin token is let through too.
	// StaticPlayAuth(webrtc.viewer_token) is the static-token check.
	PlayAuth func(r *http.Request, stream string) error
	// MetricsToken, when set, is the bearer token /metrics needs
	// (http.metrics_token).
	MetricsToken string
	// ConnectSrc, when set, returns origins the pages may connect to
	// besides their own (a cluster's other nodes): added to connect-src.
	ConnectSrc func() []string
}

// NewRouter returns the HTTP handler for pages, the REST API, /metrics,
// /healthz and whatever the mounters add.
func NewRouter(hub *stream.Hub, log *slog.Logger, opts Options, mounters ...Mounter) (http.Handler, error) {
	if log == nil {
		log = slog.Default()
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	if err := trustProxies(r, opts.TrustedProxies); err != nil {
		return nil, err
	}
	r.Use(recovery(log), securityHeaders, accessLog(log))
	if opts.ConnectSrc != nil {
		r.Use(connectSrc(opts.ConnectSrc))
	}
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
	r.GET("/metrics", metricsAuth(opts.MetricsToken), gin.WrapH(promhttp.HandlerFor(metrics.Registry, promhttp.HandlerOpts{})))
	api := &api{hub: hub, opts: opts, log: log}
	// Every /api/v1 read is a viewer's (PlayAuth); writes add the admin check.
	v1 := r.Group("/api/v1", api.viewer)
	v1.GET("/streams", api.listStreams)
	v1.GET("/streams/:name", api.getStream)
	v1.GET("/streams/:name/events", api.events)
	if opts.Viewers != nil {
		v1.GET("/streams/:name/viewers", func(c *gin.Context) {
			if _, err := hub.Lookup(c.Param("name")); errors.Is(err, stream.ErrNotFound) {
				api.fail(c, err)
				return
			}
			c.JSON(http.StatusOK, gin.H{"stream": c.Param("name"), "viewers": opts.Viewers(c.Param("name"))})
		})
	}
	r.GET("/dashboard", page("dashboard.html"))
	if opts.Mutations != nil {
		v1.GET("/streams/:name/mutations", api.getMutations)
		v1.PUT("/streams/:name/mutations", api.admin, api.putMutations)
		v1.DELETE("/streams/:name/mutations", api.admin, api.deleteMutations)
	}
	if opts.Capabilities != nil {
		v1.GET("/capabilities", func(c *gin.Context) { c.JSON(http.StatusOK, opts.Capabilities()) })
	}
	for _, m := range mounters {
		m.Mount(r)
	}
	r.NoRoute(func(c *gin.Context) {
		c.JSON(http.StatusNotFound, gin.H{"error": "not found: " + c.Request.URL.Path})
	})
	return r, nil
}

type api struct {
	hub  *stream.Hub
	opts Options
	log  *slog.Logger
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
