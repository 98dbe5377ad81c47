package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/mutstream/mutstream/metrics"
	"github.com/redis/go-redis/v9"
)

// Directory is the cluster's shared state in Redis: which node is the
// origin of each stream (a lease its holder renews) and which nodes are
// alive (entries renewed by heartbeats). Every call is bounded by its
// context; a Redis that cannot be reached gives errors wrapping
// ErrUnavailable.
type Directory struct {
	rdb    *redis.Client
	prefix string
	lease  time.Duration
}

// Origin is a stream's origin record.
type Origin struct {
	// Node is the origin's node id.
	Node string `json:"node"`
	// URL is its advertise URL.
	URL string `json:"url"`
	// Epoch changes with every claim, so a record taken over and given
	// back is still seen to have changed.
	Epoch string `json:"epoch"`
}

// NodeInfo is a node list entry.
type NodeInfo struct {
	ID   string `json:"id"`
	URL  string `json:"url"`
	Role string `json:"role"`
	// Viewers is the node's local viewer count at its latest heartbeat.
	Viewers int `json:"viewers"`
}

func parseRedisURL(s string) (*redis.Options, error) {
	o, err := redis.ParseURL(s)
	if err == nil {
		return o, nil
	}
	// The URL may hold a password: no error names it, quoted or not.
	// url.Parse's errors quote the URL, and their inner ones quote parts
	// of it (a "port" cut out of a password holding '/'): a fixed message.
	var ue *url.Error
	if errors.As(err, &ue) {
		return nil, errors.New("not a URL (escape '/', '?', '#', '@', '%' and quotes in a password with %XX)")
	}
	// go-redis's own errors end with the part they refuse (a path, a
	// database), which a password holding '/' or '@' can spill into: keep
	// only what they say is wrong.
	msg := err.Error()
	if i := strings.Index(msg, ": invalid "); i >= 0 {
		if j := strings.Index(msg[i+len(": invalid "):], ":"); j >= 0 {
			msg = msg[:i+len(": invalid ")+j]
		}
	}
	return nil, fmt.Errorf("%s (want redis://[user:password@]host:port[/db])", msg)
}

// NewDirectory returns a directory on the Redis at cfg.Redis. It does not
// connect yet: the first call does, and each call after a failure tries
// again.
func NewDirectory(cfg Config) (*Directory, error) {
	cfg = cfg.WithDefaults()
	o, err := parseRedisURL(cfg.Redis)
	if err != nil {
		return nil, fmt.Errorf("cluster.redis: %w", err)
	}
	o.DialTimeout = 500 * time.Millisecond
	o.ReadTimeout = 500 * time.Millisecond
	o.WriteTimeout = 500 * time.Millisecond
	o.MaxRetries = 1
	o.PoolSize = 8
	return &Directory{rdb: redis.NewClient(o), prefix: cfg.KeyPrefix, lease: cfg.Lease}, nil
}

// Close closes the connections to Redis.
func (d *Directory) Close() error { return d.rdb.Close() }

func (d *Directory) originKey(stream string) string { return d.prefix + "origin:" + stream }
func (d *Directory) nodeKey(id string) string       { return d.prefix + "node:" + id }
func (d *Directory) nodesKey() string               { return d.prefix + "nodes" }

func unavailable(op string, err error) error {
	metrics.ClusterRedisErrors.WithLabelValues(op).Inc()
	return fmt.Errorf("%w: %s: %v", ErrUnavailable, op, err)
}

// claimScript makes ARGV[1] the record at KEYS[1] for ARGV[2] ms,
// whoever held it, and returns the record it replaced: a second publisher
// on another node takes the stream over, as on one node.
var claimScript = redis.NewScript(`
local old = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return old`)

// renewScript extends KEYS[1] by ARGV[2] ms when it holds ARGV[1] (1),
// claims it again when it expired meanwhile (2: Redis was away longer
// than a lease and nobody else took it), and answers 0 when another
// record holds it: the stream was taken over.
var renewScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0`)

// releaseScript deletes KEYS[1] only while it holds ARGV[1].
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

func newEpoch() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (o Origin) encode() string {
	b, _ := json.Marshal(o)
	return string(b)
}

// Claim records node as the origin of stream, replacing any other
// record at once, and returns the new record and the one it replaced
// (zero when there was none).
func (d *Directory) Claim(ctx context.Context, stream string, node, url string) (Origin, Origin, error) {
	o := Origin{Node: node, URL: url, Epoch: newEpoch()}
	res, err := claimScript.Run(ctx, d.rdb, []string{d.originKey(stream)}, o.encode(), d.lease.Milliseconds()).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return o, Origin{}, unavailable("claim", err)
	}
	var old Origin
	if s, ok := res.(string); ok {
		_ = json.Unmarshal([]byte(s), &old)
	}
	return o, old, nil
}

// Renew extends o's lease on stream. lost is true when another record
// holds the stream now.
func (d *Directory) Renew(ctx context.Context, stream string, o Origin) (lost bool, err error) {
	n, err := renewScript.Run(ctx, d.rdb, []string{d.originKey(stream)}, o.encode(), d.lease.Milliseconds()).Int()
	if err != nil {
		return false, unavailable("renew", err)
	}
	return n == 0, nil
}

// Release deletes o's record of stream, if it still holds it.
func (d *Directory) Release(ctx context.Context, stream string, o Origin) error {
	if err := releaseScript.Run(ctx, d.rdb, []string{d.originKey(stream)}, o.encode()).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return unavailable("release", err)
	}
	return nil
}

// Lookup returns the origin of stream: ErrNoOrigin when none holds it,
// an error wrapping ErrUnavailable when Redis cannot be asked.
func (d *Directory) Lookup(ctx context.Context, stream string) (Origin, error) {
	s, err := d.rdb.Get(ctx, d.originKey(stream)).Result()
	if errors.Is(err, redis.Nil) {
		return Origin{}, ErrNoOrigin
	}
	if err != nil {
		return Origin{}, unavailable("lookup", err)
	}
	var o Origin
	if err := json.Unmarshal([]byte(s), &o); err != nil || o.Node == "" {
		metrics.ClusterRedisErrors.WithLabelValues("bad_record").Inc()
		return Origin{}, fmt.Errorf("%w: unreadable origin record for %q", ErrNoOrigin, stream)
	}
	return o, nil
}

// Heartbeat records n in the node list for ttl.
func (d *Directory) Heartbeat(ctx context.Context, n NodeInfo, ttl time.Duration) error {
	b, _ := json.Marshal(n)
	until := time.Now().Add(ttl).UnixMilli()
	_, err := d.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, d.nodeKey(n.ID), b, ttl)
		p.ZAdd(ctx, d.nodesKey(), redis.Z{Score: float64(until), Member: n.ID})
		return nil
	})
	if err != nil {
		return unavailable("heartbeat", err)
	}
	return nil
}

// Leave removes node id from the node list.
func (d *Directory) Leave(ctx context.Context, id string) error {
	_, err := d.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, d.nodeKey(id))
		p.ZRem(ctx, d.nodesKey(), id)
		return nil
	})
	if err != nil {
		return unavailable("leave", err)
	}
	return nil
}

// Nodes returns the live nodes, sorted by id: those whose heartbeat is
// recent enough.
func (d *Directory) Nodes(ctx context.Context) ([]NodeInfo, error) {
	now := fmt.Sprint(time.Now().UnixMilli())
	if err := d.rdb.ZRemRangeByScore(ctx, d.nodesKey(), "-inf", "("+now).Err(); err != nil {
		return nil, unavailable("nodes", err)
	}
	ids, err := d.rdb.ZRange(ctx, d.nodesKey(), 0, -1).Result()
	if err != nil {
		return nil, unavailable("nodes", err)
	}
	out := []NodeInfo{}
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = d.nodeKey(id)
	}
	vals, err := d.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, unavailable("nodes", err)
	}
	for _, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue // expired between the two reads
		}
		var n NodeInfo
		if json.Unmarshal([]byte(s), &n) == nil && n.ID != "" {
			out = append(out, n)
		}
	}
	sortNodes(out)
	return out, nil
}
