"""Pure domain rules of the exchange: standard library only, no gRPC, protobuf or SQL."""
