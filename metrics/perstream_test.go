package metrics

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// vecDecl finds a collector vector declared in this package: its name and
// its label list.
var vecDecl = regexp.MustCompile(`(?s)Name:\s*"(mediad_[a-z0-9_]+)".*?\},\s*\[\]string\{([^}]*)\}`)

// TestDeleteStreamCoversEveryStreamLabel: every vector with a "stream"
// label declared here is one DeleteStream clears, so a new one cannot leak
// series of ended streams unnoticed.
func TestDeleteStreamCoversEveryStreamLabel(t *testing.T) {
	covered := map[string]bool{}
	for _, v := range perStream {
		c, ok := v.(prometheus.Collector)
		if !ok {
			t.Fatalf("%T is not a collector", v)
		}
		ch := make(chan *prometheus.Desc, 4)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			if m := regexp.MustCompile(`fqName: "([^"]+)"`).FindStringSubmatch(d.String()); m != nil {
				covered[m[1]] = true
			}
		}
	}
	files, _ := filepath.Glob("*.go")
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range vecDecl.FindAllStringSubmatch(string(b), -1) {
			if !strings.Contains(m[2], `"stream"`) {
				continue
			}
			found++
			if !covered[m[1]] {
				t.Errorf("%s (%s) has a stream label but DeleteStream does not clear it: add it to perStream", m[1], f)
			}
		}
	}
	if found < 10 {
		t.Fatalf("found only %d per-stream vectors: the scan is broken", found)
	}
}

func TestDeleteStream(t *testing.T) {
	EncodedFrames.WithLabelValues("del-a", "360p", "h264").Inc()
	EncodedFrames.WithLabelValues("del-b", "360p", "h264").Inc()
	ViewerRung.WithLabelValues("del-a", "s1", "360p", "h264").Set(1)
	DeleteStream("del-a")
	if EncodedFrames.DeleteLabelValues("del-a", "360p", "h264") || ViewerRung.DeleteLabelValues("del-a", "s1", "360p", "h264") {
		t.Fatal("series of del-a left")
	}
	if !EncodedFrames.DeleteLabelValues("del-b", "360p", "h264") {
		t.Fatal("series of another stream deleted")
	}
}
