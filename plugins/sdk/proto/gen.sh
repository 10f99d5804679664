#!/bin/sh
# Regenerates the Go code of the plugin contract (and the example copy). Needs protoc (Debian:
# apt-get install protobuf-compiler) and the pinned generators:
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
#   go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.3.0
set -eu
cd "$(dirname "$0")"
PATH="$(go env GOPATH)/bin:$PATH"
protoc --proto_path=. \
  --go_out=. --go_opt=paths=source_relative \
  --go-grpc_out=. --go-grpc_opt=paths=source_relative \
  plugin.proto
# The Node.js example carries its own copy, so that it works copied out of the tree.
cp plugin.proto ../../../examples/node-plugin/proto/plugin.proto
