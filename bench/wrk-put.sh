#!/usr/bin/env bash
# usage: bench/wrk-put.sh <jar> <label>: starts the jar in a fresh directory (embedded PostgreSQL, port 8080),
# warms up 10 s, then PUTs saves for random users with wrk at 1, 8 and 32 connections (20 s each), stops it.
# Used to compare two commits under the same conditions: build each one's jar, run this on both, alternate.
set -euo pipefail
jar=$1; label=$2
here=$(cd "$(dirname "$0")" && pwd); jar=$(cd "$(dirname "$jar")" && pwd)/$(basename "$jar"); dir=$(mktemp -d); cd "$dir"
# a load from one address with one token: the rate limits (agentconfig.http.rate.*) out of the way
AGENTCONFIG_HTTP_RATE_PER_SERVICE=100000000 AGENTCONFIG_HTTP_RATE_PER_ADDRESS=100000000 \
  java -Xmx1g ${JAVA_EXTRA:-} -jar "$jar" > service.log 2>&1 &
pid=$!
for i in $(seq 1 120); do
  if curl -sf http://127.0.0.1:8080/observe/health > /dev/null 2>&1; then break; fi; sleep 1
done
token=$(cat data/secrets/service-token)
wrk -t1 -c8 -d10s -s "$here/put.lua" http://127.0.0.1:8080 -- "$token" > warm.txt 2>&1 || true
for c in 1 8 32; do
  t=1; [ "$c" -gt 1 ] && t=2
  wrk -t$t -c$c -d20s --latency -s "$here/put.lua" http://127.0.0.1:8080 -- "$token" > "wrk-$c.txt" 2>&1
  rps=$(awk '/Requests\/sec/ {print $2}' "wrk-$c.txt")
  p50=$(awk '$1=="50%" {print $2}' "wrk-$c.txt"); p99=$(awk '$1=="99%" {print $2}' "wrk-$c.txt")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "wrk-$c.txt")
  echo "$label clients=$c saves/s=$rps p50=$p50 p99=$p99 non2xx=${non2xx:-0}"
done
kill "$pid"; wait "$pid" || true
