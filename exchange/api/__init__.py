"""The gRPC edge: signed-call dispatch, servicers, status mapping, the server."""
