#!/usr/bin/env bash
# Copyright (c) Vellum authors.
#
# Three real vellum-node processes on loopback: write through a follower, SIGKILL the
# leader, keep writing, restart it, then check that every acknowledged write is on all
# three nodes and that their state roots are identical.
#
# Usage: cluster_kill_test.sh VELLUM_DB VELLUM_NODE
# A write is acknowledged when the API answered 200; 503 and timeouts are retried (the
# API says a 503 write may still commit, and the retry writes the same value).
set -euo pipefail

VELLUM_DB=${1:?usage: cluster_kill_test.sh VELLUM_DB VELLUM_NODE}
VELLUM_NODE=${2:?usage: cluster_kill_test.sh VELLUM_DB VELLUM_NODE}
dir=$(mktemp -d /tmp/vellum-kill-test.XXXXXX)
# Ports: pick a base that differs between concurrent runs.
base=$((20000 + ($$ % 150) * 200))
declare -a pids=(0 0 0 0)
declare -A acked=()

cleanup() {
  local rc=$?
  for i in 1 2 3; do
    if [ "${pids[$i]}" != 0 ]; then kill -9 "${pids[$i]}" 2>/dev/null || true; fi
  done
  wait 2>/dev/null || true
  if [ $rc -ne 0 ]; then
    for i in 1 2 3; do
      echo "---- last lines of node $i's log"
      tail -n 15 "$dir/n$i.log" 2>/dev/null || true
    done
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }

api() {  # api METHOD URL [BODY] -> prints "STATUS BODY"
  local out status
  out=$(mktemp "$dir/resp.XXXXXX")
  status=$(curl -s -o "$out" -w '%{http_code}' --max-time 10 --cacert "$dir/c/ca.crt" \
    --cert "$dir/c/client.crt" --key "$dir/c/client.key" -X "$1" ${3+--data-binary "$3"} \
    "$2" || true)
  echo "$status $(cat "$out")"
  rm -f "$out"
}

endpoint() { sed -n "${1}p" "$dir/c/endpoints"; }

start_node() {
  "$VELLUM_NODE" --config "$dir/c/n$1/node.yaml" --log_format text >> "$dir/n$1.log" 2>&1 &
  pids[$1]=$!
}

field() {  # field NAME JSON -> the value of a top-level number or string field
  echo "$2" | grep -o "\"$1\":[^,}]*" | head -n 1 | cut -d: -f2- | tr -d '"'
}

# The node every live node agrees is the leader (waits up to 30 s).
wait_for_leader() {
  local deadline=$((SECONDS + 30))
  while [ $SECONDS -lt $deadline ]; do
    for i in 1 2 3; do
      [ "${pids[$i]}" = 0 ] && continue
      local r
      r=$(api GET "$(endpoint "$i")/v1/status")
      if [ "${r%% *}" = 200 ] && [ "$(field role "${r#* }")" = leader ]; then
        echo "$i"
        return 0
      fi
    done
    sleep 0.2
  done
  fail "no leader within 30 s"
}

put_until_acked() {  # put_until_acked NODE KEY VALUE
  local attempt r
  for attempt in $(seq 1 100); do
    r=$(api PUT "$(endpoint "$1")/v1/kv/kill/$2" "$3")
    case "${r%% *}" in
      200) acked[$2]=$3; return 0 ;;
      503 | 504 | 000) sleep 0.2 ;;
      *) fail "PUT $2 via node $1: $r" ;;
    esac
  done
  fail "PUT $2 via node $1 was never acknowledged"
}

"$VELLUM_DB" cluster init --nodes 3 --dir "$dir/c" --base-port "$base" > /dev/null
for i in 1 2 3; do start_node "$i"; done
leader=$(wait_for_leader)
follower=$((leader % 3 + 1))
echo "leader: node $leader; writing through follower node $follower"

for k in $(seq 1 20); do put_until_acked "$follower" "before-$k" "value-$k"; done
echo "20 writes acknowledged; SIGKILL node $leader"
kill -9 "${pids[$leader]}"
wait "${pids[$leader]}" 2>/dev/null || true
pids[$leader]=0

for k in $(seq 1 20); do put_until_acked "$follower" "during-$k" "value-$k"; done
new_leader=$(wait_for_leader)
echo "20 more writes acknowledged with node $leader down (new leader: node $new_leader)"

start_node "$leader"
for k in $(seq 1 10); do put_until_acked "$leader" "after-$k" "value-$k"; done
echo "node $leader restarted; 10 writes acknowledged through it"

# Wait until the three nodes have applied the same Raft index.
deadline=$((SECONDS + 30))
while :; do
  declare -a applied=() roots=()
  for i in 1 2 3; do
    r=$(api GET "$(endpoint "$i")/v1/status")
    applied[$i]=$(field applied_index "${r#* }")
    roots[$i]=$(field state_root "${r#* }")
    alarm=$(field alarm "${r#* }")
    [ "$alarm" = null ] || fail "node $i raised an alarm: $alarm"
  done
  if [ -n "${applied[1]}" ] && [ "${applied[1]}" = "${applied[2]}" ] &&
     [ "${applied[2]}" = "${applied[3]}" ]; then
    break
  fi
  [ $SECONDS -lt $deadline ] || fail "nodes did not converge: applied ${applied[*]}"
  sleep 0.2
done
[ "${roots[1]}" = "${roots[2]}" ] && [ "${roots[2]}" = "${roots[3]}" ] ||
  fail "state roots differ: ${roots[*]}"

for key in "${!acked[@]}"; do
  for i in 1 2 3; do
    r=$(api GET "$(endpoint "$i")/v1/kv/kill/$key?consistency=stale")
    [ "$r" = "200 ${acked[$key]}" ] || fail "node $i: $key is '$r', expected '${acked[$key]}'"
  done
done
# Graceful shutdown: SIGTERM, and every node exits 0 within 15 s.
for i in 1 2 3; do kill -TERM "${pids[$i]}"; done
for i in 1 2 3; do
  deadline=$((SECONDS + 15))
  while kill -0 "${pids[$i]}" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || fail "node $i did not stop within 15 s of SIGTERM"
    sleep 0.1
  done
  rc=0
  wait "${pids[$i]}" || rc=$?
  pids[$i]=0
  [ $rc = 0 ] || fail "node $i exited with $rc after SIGTERM"
done
echo "PASS: ${#acked[@]} acknowledged writes on all 3 nodes; applied index ${applied[1]};" \
  "state root ${roots[1]} on every node; all stopped cleanly on SIGTERM"
