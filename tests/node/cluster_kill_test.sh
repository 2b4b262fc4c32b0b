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

# Every node holds a share of every entry key of every member's ledger log: any two
# of the three holder keys decrypt node 1's log, one alone does not (and nor does the
# master key, which is not given).
decrypted=$(env -u VELLUM_KEY_FILE "$VELLUM_DB" log decrypt --db "$dir/c/n1/data/ledger" \
  --holder-key "$dir/c/n2/holder.key" --holder-key "$dir/c/n3/holder.key") ||
  fail "two holder keys did not decrypt node 1's log"
grep -q 'put test before-1 value-1' <<< "$decrypted" ||
  fail "node 1's decrypted log lacks the first write: $(head -5 <<< "$decrypted")"
if env -u VELLUM_KEY_FILE "$VELLUM_DB" log decrypt --db "$dir/c/n1/data/ledger" \
  --holder-key "$dir/c/n1/holder.key" > /dev/null 2>&1; then
  fail "one holder key decrypted node 1's log"
fi
echo "node 1's log decrypts with the holder keys of nodes 2 and 3, not with one key"

echo "PASS: ${#acked[@]} acknowledged writes on all 3 nodes; applied index $applied_index;" \
  "state root $state_root on every node; all stopped cleanly on SIGTERM"
