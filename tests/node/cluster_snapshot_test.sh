#!/usr/bin/env bash
# Copyright (c) Vellum authors.
#
# Raft log compaction and snapshot transfer on three real vellum-node processes: with
# a small raft.snapshot_interval_entries, stop a follower, write until the others
# have compacted their logs past it, restart it: it fetches the leader's ledger over
# the internal snapshot endpoint (which refuses a client certificate with 403),
# installs it, and ends with the same state root and every acknowledged write.
#
# Usage: cluster_snapshot_test.sh VELLUM_DB VELLUM_NODE
set -euo pipefail

VELLUM_DB=${1:?usage: cluster_snapshot_test.sh VELLUM_DB VELLUM_NODE}
VELLUM_NODE=${2:?usage: cluster_snapshot_test.sh VELLUM_DB VELLUM_NODE}
max_node=3
source "$(dirname "$0")/cluster_test_lib.sh"

"$VELLUM_DB" cluster init --nodes 3 --dir "$dir/c" --base-port "$base" > /dev/null
for i in 1 2 3; do
  # Without fsync: this test is about catching up, not durability, and it needs
  # hundreds of Raft entries quickly.
  sed -i -e 's/^raft:$/raft:\n  snapshot_interval_entries: 20\n  snapshot_tail_entries: 5/' \
    -e 's/^sync: true$/sync: false/' "$dir/c/n$i/node.yaml"
  grep -q 'snapshot_interval_entries: 20' "$dir/c/n$i/node.yaml" || fail "node.yaml not edited"
done
for i in 1 2 3; do start_node "$i"; done
leader=$(wait_for_leader)
behind=$((leader % 3 + 1))
echo "leader: node $leader; node $behind will fall behind"

for k in $(seq 1 5); do put_until_acked "$leader" "before-$k" "value-$k"; done
stop_gracefully "$behind"
# More writes than the leader pipelines to a silent follower (raft max_inflight_messages,
# 256): the appends queued for it before it stopped cannot bring it up to date, and
# the entries after them are compacted away.
# One curl process, one kept-alive connection, one request after another (each its
# own Raft entry); only the writes answered 200 count as acknowledged.
urls=()
for k in $(seq 1 300); do urls+=("$(endpoint "$leader")/v1/kv/test/during-$k" -o /dev/null); done
codes=$(curl -s --max-time 120 --cacert "$dir/c/ca.crt" --cert "$dir/c/client.crt" \
  --key "$dir/c/client.key" -X PUT --data-binary bulk -w '%{http_code}\n' "${urls[@]}" || true)
k=0
while read -r code; do
  k=$((k + 1))
  [ "$code" = 200 ] && acked[during-$k]=bulk
done <<< "$codes"
[ "${#acked[@]}" -gt 250 ] || fail "only ${#acked[@]} writes acknowledged"
grep -q 'raft_log_compacted' "$dir/n$leader.log" || fail "node $leader never compacted its log"
echo "${#acked[@]} writes acknowledged with node $behind down; node $leader compacted its Raft log"

# The internal endpoint serves members only: a client certificate gets 403.
r=$(api GET "$(endpoint "$leader")/internal/v1/snapshot")
[ "${r%% *}" = 403 ] || fail "the snapshot endpoint answered a client certificate: ${r:0:80}"

start_node "$behind"
deadline=$((SECONDS + 30))
until [ "$(api GET "$(endpoint "$behind")/v1/status" | cut -d' ' -f1)" = 200 ]; do
  [ $SECONDS -lt $deadline ] || fail "node $behind did not come back"
  sleep 0.2
done
wait_until_converged 1 2 3
grep -q 'snapshot_installed' "$dir/n$behind.log" ||
  fail "node $behind caught up without installing a snapshot"
echo "node $behind installed a snapshot of node $leader's ledger"

for k in $(seq 1 5); do put_until_acked "$behind" "after-$k" "value-$k"; done
wait_until_converged 1 2 3
# The state roots are equal, so a sample of the bulk writes (and every other write)
# read back from each node is enough.
for key in "${!acked[@]}"; do
  n=${key#during-}
  [ "$n" != "$key" ] && [ $((n % 25)) != 0 ] && unset "acked[$key]"
done
check_acked_writes 1 2 3
stop_gracefully 1 2 3
echo "PASS: ${#acked[@]} acknowledged writes on all 3 nodes; applied index $applied_index;" \
  "state root $state_root on every node"
