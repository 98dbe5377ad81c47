package sender

import "io"

// errClosedPipe is what a track write returns once the connection is closed.
var errClosedPipe = io.ErrClosedPipe
