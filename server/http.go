package server

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mutstream/mutstream/config"
	"github.com/mutstream/mutstream/metrics"
)

// Collectors of the HTTP listener's limits.
var (
	httpConnsRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mediad_http_conns_refused_total",
		Help: "HTTP connections closed on arrival for lack of room, by cap (max_conns, max_conns_per_addr).",
	}, []string{"reason"})
	httpDrainRefused = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mediad_http_drain_refused_total",
		Help: "WHIP and WHEP offers answered 503 while the server was shutting down.",
	})
)

func init() { metrics.Registry.MustRegister(httpConnsRefused, httpDrainRefused) }

// drainRetryAfter is the Retry-After of a 503 while draining: a client
// that retries then finds the restarted server (or another one).
const drainRetryAfter = "5"

// newHTTPServer returns the http.Server for handler with the configured
// timeouts and size caps. What net/http says of connections (TLS handshake
// errors from scanners, mostly) goes to log at debug level.
func newHTTPServer(c config.HTTP, handler http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		ErrorLog:          slog.NewLogLogger(log.With("component", "http").Handler(), slog.LevelDebug),
		Handler:           handler,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    c.MaxHeaderBytes,
	}
}

// guard wraps the router: it refuses new sessions while draining, caps
// request bodies and lets long-lived responses live past the timeouts.
func (s *Server) guard(next http.Handler) http.Handler {
	c := s.cfg.HTTP
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() && r.Method == http.MethodPost && isOffer(r.URL.Path) {
			httpDrainRefused.Inc()
			kind := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)[0]
			metrics.HTTPRejected.WithLabelValues(kind, "503").Inc()
			w.Header().Set("Access-Control-Allow-Origin", "*")
			w.Header().Set("Access-Control-Expose-Headers", "Retry-After")
			w.Header().Set("Retry-After", drainRetryAfter)
			w.Header().Set("Connection", "close")
			http.Error(w, "mediad is shutting down: try again later", http.StatusServiceUnavailable)
			return
		}
		if r.ContentLength > c.MaxBodyBytes {
			metrics.HTTPRejected.WithLabelValues("http", "413").Inc()
			w.Header().Set("Connection", "close")
			http.Error(w, "request body too large (http.max_body_bytes)", http.StatusRequestEntityTooLarge)
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, c.MaxBodyBytes)
		}
		if r.Method == http.MethodGet && isEventStream(r.URL.Path) {
			w = longLived(w, c.WriteTimeout)
		}
		next.ServeHTTP(w, r)
	})
}

// isOffer reports whether path is a WHIP or WHEP endpoint (/whip/NAME,
// /whep/NAME), where a POST starts a session; not a session URL.
func isOffer(path string) bool {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	return len(parts) == 2 && (parts[0] == "whip" || parts[0] == "whep") && parts[1] != ""
}

// isEventStream reports whether path is /api/v1/streams/NAME/events.
func isEventStream(path string) bool {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	return len(parts) == 5 && parts[0] == "api" && parts[1] == "v1" && parts[2] == "streams" && parts[4] == "events"
}

// longLived prepares a response that lasts as long as its client wants
// (server-sent events): the request's read deadline is lifted (its headers
// are in and nothing more is read from it), and the write deadline, which
// http.Server sets once per request, moves forward at each write, so only
// a client that stops reading for d is cut off.
func longLived(w http.ResponseWriter, d time.Duration) http.ResponseWriter {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Now().Add(d))
	return &deadlineWriter{ResponseWriter: w, rc: rc, d: d}
}

// deadlineWriter moves its connection's write deadline forward by d at
// every write and flush.
type deadlineWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	d  time.Duration
}

func (w *deadlineWriter) Write(b []byte) (int, error) {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.d))
	return w.ResponseWriter.Write(b)
}

func (w *deadlineWriter) Flush() {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.d))
	_ = w.rc.Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
