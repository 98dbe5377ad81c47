//go:build race

package sender

// raceOn says whether the race detector is built in: sync.Pool then drops
// what is put back at random, so a path that pools allocates now and then.
const raceOn = true
