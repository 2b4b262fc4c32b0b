#!/usr/bin/env bash
# Copyright (c) Vellum authors.
#
# Three real vellum-node processes on loopback: write through a follower, SIGKILL the
# leader, keep writing, restart it, then check that every acknowledged write is on all
# three nodes and that their state roots are identical.
#
# Usage: cluster_kill_test.sh VELLUM_DB VELLUM_NODE
set -euo pipefail

VELLUM_DB=${1:?usage: cluster_kill_test.sh VELLUM_DB VELLUM_NODE}
VELLUM_NODE=${2:?usage: cluster_kill_test.sh VELLUM_DB VELLUM_NODE}
max_node=3
source "$(dirname "$0")/cluster_test_lib.sh"

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

wait_until_converged 1 2 3
check_acked_writes 1 2 3
stop_gracefully 1 2 3
echo "PASS: ${#acked[@]} acknowledged writes on all 3 nodes; applied index $applied_index;" \
  "state root $state_root on every node; all stopped cleanly on SIGTERM"
