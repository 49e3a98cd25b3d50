#!/usr/bin/env bash
# The project's test command (README: "Run the tests"). Checks formatting and
# vet, runs every test of the library with the race detector, the cache
# round trip with MSAL Go (interop/), and the tests of the side-by-side
# benchmark module (which check its measuring set-up).
set -euo pipefail
cd "$(dirname "$0")/.."

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
go test -race -count=1 ./...
(cd interop && go vet ./... && go test -race -count=1 ./...)
(cd bench && go vet ./... && go test -count=1 ./...)
