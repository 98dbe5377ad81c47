package main

import (
	"fmt"
	"io"
	"net/url"

	"github.com/mutstream/mutstream/config"
)

// clusterSecrets returns what the cluster section holds that no log may
// show beyond its token (which configSecrets finds by its key): the
// password in cluster.redis.
func clusterSecrets(cfg config.Config) []string {
	if cfg.Cluster == nil {
		return nil
	}
	u, err := url.Parse(cfg.Cluster.Redis)
	if err != nil || u.User == nil {
		return nil
	}
	var out []string
	if p, ok := u.User.Password(); ok && p != "" {
		out = append(out, p)
	}
	return out
}

// printCluster adds the cluster lines to the start banner.
func printCluster(w io.Writer, cfg config.Config) {
	if cfg.Cluster == nil {
		return
	}
	c := cfg.Cluster.WithDefaults()
	fmt.Fprintf(w, "  Cluster node:          %s (role %s), advertised as %s\n", c.NodeID, c.Role, c.AdvertiseURL)
	fmt.Fprintf(w, "  Cluster nodes:         %s/api/v1/cluster/nodes\n", c.AdvertiseURL)
}
