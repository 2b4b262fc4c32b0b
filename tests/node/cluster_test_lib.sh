#!/usr/bin/env bash
# Copyright (c) Vellum authors.
#
# Shared by the cluster tests that run real vellum-node processes on loopback and drive
# them with curl. Source it after setting VELLUM_DB, VELLUM_NODE and (optionally)
# max_node; it makes a temporary directory ($dir, removed on exit, node logs printed on
# failure) and a port base that differs between concurrent runs ($base).
dir=$(mktemp -d /tmp/vellum-cluster-test.XXXXXX)

# Ports: node I listens on base+I (peers) and base+100+I (clients). The base is taken
# from 10000..31800, below the kernel's ephemeral range (32768 and up by default), where
# the port-0 listeners of the C++ tests and every outgoing connection get their ports:
# a base up there could be taken by one of them between `cluster init` and the node's
# bind. Concurrent runs claim distinct bases with an atomic mkdir of a lock directory
# holding the owner's pid; a lock whose owner is gone is taken over.
claim_port_base() {
  local first=$(( ($$ % 110) )) slot candidate lock owner
  for ((slot = 0; slot < 110; slot++)); do
    candidate=$((10000 + ((first + slot) % 110) * 200))
    lock=/tmp/vellum-cluster-ports.$candidate
    if ! mkdir "$lock" 2>/dev/null; then
      owner=$(cat "$lock/pid" 2>/dev/null || true)
      if [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null; then continue; fi
      # The owner is gone (or is still writing its pid: then it holds the lock for
      # a moment only, and mkdir by it succeeded; leave it alone).
      [ -n "$owner" ] || continue
      rm -rf "$lock"
      mkdir "$lock" 2>/dev/null || continue
    fi
    echo $$ > "$lock/pid"
    base=$candidate
    port_lock=$lock
    return 0
  done
  echo "FAIL: no free port base in 10000..31800"
  exit 1
}
claim_port_base
# Node I is nodes 1..$max_node; pids[I] is 0 while it is not running.
max_node=${max_node:-3}
declare -a pids=()
for ((i = 0; i <= max_node; i++)); do pids[i]=0; done
declare -A acked=()

cleanup() {
  local rc=$?
  for ((i = 1; i <= max_node; i++)); do
    if [ "${pids[$i]}" != 0 ]; then kill -9 "${pids[$i]}" 2>/dev/null || true; fi
  done
  wait 2>/dev/null || true
  if [ $rc -ne 0 ]; then
    for ((i = 1; i <= max_node; i++)); do
      echo "---- last lines of node $i's log"
      tail -n 15 "$dir/n$i.log" 2>/dev/null || true
    done
  fi
  rm -rf "$dir" "$port_lock"
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

# A live node that says it is the leader (waits up to 30 s).
wait_for_leader() {
  local deadline=$((SECONDS + 30))
  while [ $SECONDS -lt $deadline ]; do
    for ((i = 1; i <= max_node; i++)); do
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

# Writes until the API answers 200 (503 and timeouts are retried: such a write may
# still commit, and the retry writes the same value), recording the write in acked.
put_until_acked() {  # put_until_acked NODE KEY VALUE
  local attempt r
  for attempt in $(seq 1 100); do
    r=$(api PUT "$(endpoint "$1")/v1/kv/test/$2" "$3")
    case "${r%% *}" in
      200) acked[$2]=$3; return 0 ;;
      503 | 504 | 000) sleep 0.2 ;;
      *) fail "PUT $2 via node $1: $r" ;;
    esac
  done
  fail "PUT $2 via node $1 was never acknowledged"
}


# Waits up to 30 s until the given nodes have applied the same Raft index; fails on an
# alarm. Leaves the common applied index in $applied_index and state root in $state_root.
wait_until_converged() {  # wait_until_converged NODE...
  local deadline=$((SECONDS + 30)) i r idx root alarm
  while :; do
    local same=1 first_idx="" first_root=""
    for i in "$@"; do
      r=$(api GET "$(endpoint "$i")/v1/status")
      idx=$(field applied_index "${r#* }")
      root=$(field state_root "${r#* }")
      alarm=$(field alarm "${r#* }")
      [ -z "$alarm" ] || [ "$alarm" = null ] || fail "node $i raised an alarm: $alarm"
      if [ -z "$first_idx" ]; then first_idx=$idx; first_root=$root; fi
      if [ -z "$idx" ] || [ "$idx" != "$first_idx" ]; then same=0; fi
      if [ "$root" != "$first_root" ]; then same=0; fi
    done
    if [ $same = 1 ]; then
      applied_index=$first_idx
      state_root=$first_root
      return 0
    fi
    [ $SECONDS -lt $deadline ] || fail "nodes $* did not converge"
    sleep 0.2
  done
}

# Reads every acknowledged write back from each given node.
check_acked_writes() {  # check_acked_writes NODE...
  local key i r
  for key in "${!acked[@]}"; do
    for i in "$@"; do
      r=$(api GET "$(endpoint "$i")/v1/kv/test/$key?consistency=stale")
      [ "$r" = "200 ${acked[$key]}" ] || fail "node $i: $key is '$r', expected '${acked[$key]}'"
    done
  done
}

# SIGTERM, and each node must exit 0 within 15 s.
stop_gracefully() {  # stop_gracefully NODE...
  local i deadline rc
  for i in "$@"; do kill -TERM "${pids[$i]}"; done
  for i in "$@"; do
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
}
