package udpbatch

// rawWriter, where the system has one, is the sendmmsg below a Conn's
// write that a sender can tell to try (setTry).
type rawWriter struct{ try bool }
