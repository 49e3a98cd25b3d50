#!/usr/bin/env bash
# The project's test command (README: "Run the tests"). Checks formatting and
# vet, runs every test of the library with the race detector, the interop
# tests (cache round trip with MSAL Go, RFC 8705 against oidc-provider, MSAL
# Python, MSAL Node and azidentity against `entra emulator`), the
# Azure SDK adapter (azentra/), the x/oauth2 adapter (xoauth2/), OpenTelemetry (entraotel/), the CLI (cmd/entra/) and the Redis store (redisstore/), each its
# own module,
# and the tests of the side-by-side benchmark module (which check its
# measuring set-up). Needs Go, openssl, Node.js 20+ with npm, python3-msal, redis-server
# with redis-cli, and chromium.
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
# panva/oidc-provider (a Node.js server, installed from the lock file), the
# RFC 8705 server of the interop and CLI tests.
(cd interop/oidcprovider && npm ci --no-audit --no-fund --loglevel=error)
# cmd/entra: the CLI, a module of its own so that the OTLP exporters it
# links stay out of the library's dependencies (go.work ties them).
(cd cmd/entra && go vet ./... && ENTRA_REQUIRE_OIDC_PROVIDER=1 go test -race -count=1 ./...)
# interop/: the cache round trip with MSAL Go, and RFC 8705 against
# oidc-provider. It also runs MSAL Python (Debian's python3-msal), MSAL Node
# (installed from its lock file) and azidentity, unmodified, against
# `entra emulator`.
(cd interop/msalnode && npm ci --no-audit --no-fund --loglevel=error)
(cd interop && go vet ./... && ENTRA_REQUIRE_OIDC_PROVIDER=1 ENTRA_REQUIRE_INTEROP=1 go test -race -count=1 ./...)
(cd azentra && go vet ./... && go test -race -count=1 ./...)
(cd xoauth2 && go vet ./... && go test -race -count=1 ./...)
(cd entraotel && go vet ./... && go test -race -count=1 ./...)
# examples/webapp: the sample web app, driven in headless Chromium (which
# .ci/run installs).
(cd examples/webapp && go vet ./... && ENTRA_REQUIRE_BROWSER=1 go test -count=1 ./...)
# redisstore/: the shared cache on a real redis-server and on a three-node
# Redis Cluster, which its tests start.
(cd redisstore && go vet ./... && ENTRA_REQUIRE_REDIS=1 go test -race -count=1 ./...)
# bench/: its Redis set-up test starts a redis-server too.
(cd bench && go vet ./... && ENTRA_REQUIRE_REDIS=1 go test -count=1 ./...)
