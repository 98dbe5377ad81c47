package signaling

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestWriteBatchGSOKey: webrtc.write_batch.gso is on by default, a file
// turns it off without touching the other keys, and a value that is not
// a bool is refused at its line.
func TestWriteBatchGSOKey(t *testing.T) {
	def := DefaultConfig()
	if !def.WriteBatch.GSO {
		t.Fatal("write_batch.gso is off by default")
	}
	decode := func(src string) (Config, error) {
		c := DefaultConfig()
		d := yaml.NewDecoder(strings.NewReader(src))
		d.KnownFields(true)
		return c, d.Decode(&c)
	}
	c, err := decode("write_batch:\n  gso: false\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.WriteBatch.GSO || c.WriteBatch.Size != def.WriteBatch.Size || c.WriteBatch.Interval != def.WriteBatch.Interval {
		t.Fatalf("write_batch %+v, want the defaults with gso off", c.WriteBatch)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := decode("write_batch:\n  gso: sometimes\n"); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("gso: sometimes decoded: %v", err)
	}
}
