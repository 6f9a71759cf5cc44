#!/bin/sh
# Release build of imapmig: a static binary with reproducible paths and the
# version stamped in (`imapmig version` prints it). No make needed:
#
#   deploy/build.sh 1.4.0            # → dist/imapmig-1.4.0-linux-amd64
#   GOARCH=arm64 deploy/build.sh 1.4.0
#
# which runs
#   CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=VERSION" -o OUT ./cmd/imapmig
set -eu
cd "$(dirname "$0")/.."
version=${1:?usage: deploy/build.sh VERSION}
goos=$(go env GOOS)
goarch=$(go env GOARCH)
out=${OUT:-dist/imapmig-$version-$goos-$goarch}
mkdir -p "$(dirname "$out")"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$out" ./cmd/imapmig
echo "$out: $("$out" version 2>/dev/null || echo "built for $goos/$goarch")"
