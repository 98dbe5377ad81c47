//go:build race

package signaling

// raceOn says whether the race detector is built in: its shadow memory is
// not given back, so resident memory says nothing of leaks then.
const raceOn = true
