#!/usr/bin/env bash
# Development mode: plain HTTP/WS, no authentication, rate limits still on.
# Works on a fresh clone: installs dependencies and builds when needed, then execs the server.
set -euo pipefail
cd "$(dirname "$0")"
[ -d node_modules ] || npm install --no-audit --no-fund
node scripts/ensure-build.mjs
export REQUIRE_HTTPS=false
export REQUIRE_AUTH=false
# DEBUG=true (pretty logs, development users) unless the environment or .env says otherwise.
if [ -z "${DEBUG:-}" ] && ! grep -qE '^[[:space:]]*(export[[:space:]]+)?DEBUG=' .env 2>/dev/null; then
  export DEBUG=true
fi
# The development users live in their own file, so this script and `npm start` (users.csv, admin
# only in production) never trip over each other, whichever runs first.
if [ -z "${USERS_FILE:-}" ] && ! grep -qE '^[[:space:]]*(export[[:space:]]+)?USERS_FILE=' .env 2>/dev/null; then
  export USERS_FILE=users.dev.csv
fi
exec node dist/src/main.js
