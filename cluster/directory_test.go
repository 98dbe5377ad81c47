package cluster

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mutstream/mutstream/internal/e2e"
)

func testDir(t *testing.T, url string, lease time.Duration) *Directory {
	t.Helper()
	d, err := NewDirectory(Config{Redis: url, Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDirectoryTakeover(t *testing.T) {
	r := e2e.StartRedis(t)
	d := testDir(t, r.URL(), 3*time.Second)
	ctx := context.Background()

	if _, err := d.Lookup(ctx, "cam"); !errors.Is(err, ErrNoOrigin) {
		t.Fatalf("lookup before any claim: %v, want ErrNoOrigin", err)
	}
	a, old, err := d.Claim(ctx, "cam", "a", "http://a")
	if err != nil || old.Node != "" {
		t.Fatalf("first claim: old %+v, err %v", old, err)
	}
	if o, err := d.Lookup(ctx, "cam"); err != nil || o != a {
		t.Fatalf("lookup: %+v %v, want %+v", o, err, a)
	}
	b, old, err := d.Claim(ctx, "cam", "b", "http://b")
	if err != nil || old != a {
		t.Fatalf("takeover: old %+v, err %v; want old %+v", old, err, a)
	}
	if lost, err := d.Renew(ctx, "cam", a); err != nil || !lost {
		t.Fatalf("renew by the node taken over: lost %v err %v, want lost", lost, err)
	}
	if lost, err := d.Renew(ctx, "cam", b); err != nil || lost {
		t.Fatalf("renew by the holder: lost %v err %v", lost, err)
	}
	// The old holder's release must not delete the new holder's record.
	if err := d.Release(ctx, "cam", a); err != nil {
		t.Fatal(err)
	}
	if o, err := d.Lookup(ctx, "cam"); err != nil || o != b {
		t.Fatalf("after a stale release: %+v %v, want %+v", o, err, b)
	}
	if err := d.Release(ctx, "cam", b); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Lookup(ctx, "cam"); !errors.Is(err, ErrNoOrigin) {
		t.Fatalf("after release: %v, want ErrNoOrigin", err)
	}
	// Same node, same URL: a new claim is still a new epoch.
	c1, _, _ := d.Claim(ctx, "x", "a", "http://a")
	c2, _, _ := d.Claim(ctx, "x", "a", "http://a")
	if c1.Epoch == c2.Epoch {
		t.Fatal("two claims share an epoch")
	}
}

func TestDirectoryLeaseExpiresAndRenewReclaims(t *testing.T) {
	r := e2e.StartRedis(t)
	d := testDir(t, r.URL(), 300*time.Millisecond)
	ctx := context.Background()
	a, _, err := d.Claim(ctx, "cam", "a", "http://a")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the lease to expire", 5*time.Second, func() bool {
		_, err := d.Lookup(ctx, "cam")
		return errors.Is(err, ErrNoOrigin)
	})
	// Nobody took it: the holder's next renewal claims it again.
	if lost, err := d.Renew(ctx, "cam", a); err != nil || lost {
		t.Fatalf("renew after expiry: lost %v err %v", lost, err)
	}
	if o, err := d.Lookup(ctx, "cam"); err != nil || o != a {
		t.Fatalf("after reclaim: %+v %v", o, err)
	}
}

func TestDirectoryNodes(t *testing.T) {
	r := e2e.StartRedis(t)
	d := testDir(t, r.URL(), time.Second)
	ctx := context.Background()
	for _, n := range []NodeInfo{{ID: "b", URL: "http://b", Role: RoleEdge}, {ID: "a", URL: "http://a", Role: RoleBoth}} {
		if err := d.Heartbeat(ctx, n, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Heartbeat(ctx, NodeInfo{ID: "c", URL: "http://c"}, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	nodes, err := d.Nodes(ctx)
	if err != nil || len(nodes) != 3 || nodes[0].ID != "a" || nodes[1].URL != "http://b" {
		t.Fatalf("nodes: %+v %v", nodes, err)
	}
	waitFor(t, "node c to drop out", 5*time.Second, func() bool {
		nodes, err := d.Nodes(ctx)
		return err == nil && len(nodes) == 2
	})
	if err := d.Leave(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if nodes, err := d.Nodes(ctx); err != nil || len(nodes) != 1 || nodes[0].ID != "b" {
		t.Fatalf("after leave: %+v %v", nodes, err)
	}
}

func TestDirectoryUnavailableThenBack(t *testing.T) {
	r := e2e.StartRedis(t)
	d := testDir(t, r.URL(), time.Second)
	ctx := context.Background()
	if _, _, err := d.Claim(ctx, "cam", "a", "http://a"); err != nil {
		t.Fatal(err)
	}
	r.Stop()
	if _, err := d.Lookup(ctx, "cam"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("lookup with Redis down: %v, want ErrUnavailable", err)
	}
	if _, err := d.Nodes(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("nodes with Redis down: %v, want ErrUnavailable", err)
	}
	r.Start()
	waitFor(t, "Redis to answer again", 10*time.Second, func() bool {
		_, err := d.Lookup(ctx, "cam")
		return errors.Is(err, ErrNoOrigin) // a fresh server has no record
	})
}

func TestConfigValidate(t *testing.T) {
	good := Config{Redis: "redis://127.0.0.1:6379", NodeID: "a", AdvertiseURL: "http://10.0.0.1:8080", Token: "0123456789abcdef"}
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, tc := range []struct {
		key string
		mod func(*Config)
	}{
		{"cluster.redis", func(c *Config) { c.Redis = "" }},
		{"cluster.redis", func(c *Config) { c.Redis = "http://x" }},
		{"cluster.advertise_url", func(c *Config) { c.AdvertiseURL = "10.0.0.1:8080" }},
		{"cluster.role", func(c *Config) { c.Role = "relay" }},
		{"cluster.token", func(c *Config) { c.Token = "short" }},
		{"cluster.lease", func(c *Config) { c.Lease = time.Millisecond }},
	} {
		c := good
		tc.mod(&c)
		err := c.Validate()
		if err == nil || len(err.Error()) < len(tc.key) || err.Error()[:len(tc.key)] != tc.key {
			t.Errorf("%s: error %v does not name the key", tc.key, err)
		}
	}
	if d := good.WithDefaults(); d.Lease != 3*time.Second || d.Role != RoleBoth || d.KeyPrefix != "mediad:" {
		t.Errorf("defaults: %+v", d)
	}
}

// TestRedisURLErrorHidesPassword: a Redis URL that does not parse gives
// an error that names neither the URL nor its password, quoted or not.
func TestRedisURLErrorHidesPassword(t *testing.T) {
	for _, u := range []string{
		`redis://user:zq"9k@127.0.0.1:6379`,   // url.Parse refuses the userinfo
		`redis://:zq9k%zz@127.0.0.1:6379`,     // a bad escape
		`redis://:zq9k@127.0.0.1:notaport`,    // a bad port
		`redis://:zq/9k@127.0.0.1:6379`,       // the password spills into the path
		`redis://:zq9k@127.0.0.1:6379/zq9k`,   // a bad database
		`http://user:zq9k@127.0.0.1:6379`,     // a bad scheme
		`redis://:zq/9k@127.0.0.1:6379/a/b/c`, // a bad path
	} {
		err := Config{Redis: u, NodeID: "a", AdvertiseURL: "http://127.0.0.1:1", Role: "both"}.Validate()
		if err == nil {
			t.Errorf("%s: no error", u)
			continue
		}
		msg := err.Error()
		for _, secret := range []string{"zq", "9k", u, strconv.Quote(u)} {
			if strings.Contains(msg, secret) {
				t.Errorf("%s: the error %q holds %q", u, msg, secret)
			}
		}
		if !strings.Contains(msg, "cluster.redis") {
			t.Errorf("%s: the error %q does not name the key", u, msg)
		}
	}
}
