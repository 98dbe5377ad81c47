// Package cluster makes mediad nodes one cluster over Redis: a directory
// of which node is each stream's origin (a lease its holder renews, taken
// over atomically by a publisher on another node) and which nodes are
// alive; edges that play a stream published elsewhere by pulling each
// rung their viewers watch from its origin over WHEP, with the same
// client code as the tests' viewers, and report those viewers' demand
// back so that the origin's encoders fit every edge's viewers.
//
// Without a cluster section in the config nothing of it runs.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/pion/webrtc/v4"

	"github.com/mutstream/mutstream/stream"
)

// Protocol is the ingest protocol of an edge's publication: the hub's
// start function hands such a publication to Node.StartEdge.
const Protocol = "edge"

// ErrEdgeOnly refuses a publisher on a node whose role is edge.
var ErrEdgeOnly = errors.New("this node is an edge (cluster.role: edge) and takes no publisher: publish to an origin")

// Options are the node's ties to the rest of mediad.
type Options struct {
	// Viewers returns the node's local viewer count, for the node list.
	Viewers func() int
	// Authorize, when set, guards GET /api/v1/cluster/nodes[?stream=NAME]
	// (the play check, of NAME when given): nil error lets the request
	// through, anything else is 401.
	Authorize func(r *http.Request) error
	// Log is the logger; nil is slog.Default().
	Log *slog.Logger
}

// Node is this mediad's membership of the cluster.
type Node struct {
	cfg  Config
	dir  *Directory
	hub  *stream.Hub
	log  *slog.Logger
	opts Options
	api  *webrtc.API
	http *http.Client

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	edges  map[string]*edgeStream
	closed bool
	// origins are the node list's origins (scheme://host:port) at the
	// latest heartbeat.
	origins atomic.Pointer[[]string]
}

// New returns the node; Start begins its heartbeats. Nothing connects to
// Redis before the first call that needs it.
func New(cfg Config, hub *stream.Hub, opts Options) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Viewers == nil {
		opts.Viewers = func() int { return 0 }
	}
	dir, err := NewDirectory(cfg)
	if err != nil {
		return nil, err
	}
	api, err := newPullAPI()
	if err != nil {
		_ = dir.Close()
		return nil, fmt.Errorf("cluster pulls: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Node{cfg: cfg, dir: dir, hub: hub, opts: opts, api: api,
		log:  opts.Log.With("component", "cluster", "node", cfg.NodeID),
		http: &http.Client{Timeout: 5 * time.Second},
		ctx:  ctx, cancel: cancel, edges: map[string]*edgeStream{}}, nil
}

// Config returns the node's configuration, defaults filled.
func (n *Node) Config() Config { return n.cfg }

// Directory returns the node's directory.
func (n *Node) Directory() *Directory { return n.dir }

// Start begins the node's heartbeats.
func (n *Node) Start() {
	n.wg.Add(1)
	go n.heartbeats()
	n.log.Info("cluster node started", "role", n.cfg.Role, "advertise_url", n.cfg.AdvertiseURL)
}

// Close ends every edge stream, stops the heartbeats, leaves the node
// list and closes the connections to Redis. It waits for all it started.
func (n *Node) Close() {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	n.cancel()
	n.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	_ = n.dir.Leave(ctx, n.cfg.NodeID)
	cancel()
	_ = n.dir.Close()
}

func (n *Node) heartbeats() {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.Heartbeat)
	defer t.Stop()
	down := false
	for {
		ctx, cancel := context.WithTimeout(n.ctx, n.cfg.Heartbeat)
		err := n.dir.Heartbeat(ctx, NodeInfo{ID: n.cfg.NodeID, URL: n.cfg.AdvertiseURL, Role: n.cfg.Role, Viewers: n.opts.Viewers()}, 3*n.cfg.Heartbeat)
		cancel()
		if err == nil {
			n.refreshOrigins()
		}
		switch {
		case err != nil && !down && n.ctx.Err() == nil:
			down = true
			n.log.Warn("cluster directory unreachable: local streams go on, cross-node metrics.ClusterLookups answer 503", "err", err)
		case err == nil && down:
			down = false
			n.log.Info("cluster directory reachable again")
		}
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Nodes returns the live nodes.
func (n *Node) Nodes(ctx context.Context) ([]NodeInfo, error) { return n.dir.Nodes(ctx) }

// Mount adds GET /api/v1/cluster/nodes: the live nodes, for players that
// retry on another node.
func (n *Node) Mount(r gin.IRouter) {
	r.GET("/api/v1/cluster/nodes", func(c *gin.Context) {
		if n.opts.Authorize != nil {
			if err := n.opts.Authorize(c.Request); err != nil {
				c.JSON(http.StatusUnauthorized, gin.H{"error": "not allowed to list the cluster's nodes: " + err.Error()})
				return
			}
		}
		ctx, cancel := context.WithTimeout(c.Request.Context(), time.Second)
		defer cancel()
		nodes, err := n.Nodes(ctx)
		if err != nil {
			c.Header("Retry-After", "2")
			c.JSON(http.StatusServiceUnavailable, gin.H{"error": "cluster directory unavailable: try again"})
			return
		}
		c.Header("Cache-Control", "no-store")
		c.JSON(http.StatusOK, gin.H{"self": n.cfg.NodeID, "nodes": nodes})
	})
}

// SetAuthorize sets the check of GET /api/v1/cluster/nodes (see
// Options.Authorize). Call before Mount.
func (n *Node) SetAuthorize(fn func(r *http.Request) error) { n.opts.Authorize = fn }

func (n *Node) refreshOrigins() {
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.Heartbeat)
	nodes, err := n.dir.Nodes(ctx)
	cancel()
	if err != nil {
		return
	}
	out := make([]string, 0, len(nodes))
	for _, nd := range nodes {
		if u, err := url.Parse(nd.URL); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
			out = append(out, u.Scheme+"://"+u.Host)
		}
	}
	n.origins.Store(&out)
}

// NodeOrigins returns the origins (scheme://host:port) of the nodes listed
// at the latest heartbeat: where the player may retry, for the pages'
// Content-Security-Policy.
func (n *Node) NodeOrigins() []string {
	if p := n.origins.Load(); p != nil {
		return *p
	}
	return nil
}
