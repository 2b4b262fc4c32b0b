#!/usr/bin/env bash
# Copyright (c) Vellum authors.
#
# Membership changes on real vellum-node processes: a three-node cluster adds a fourth
# node with POST /v1/members (it joins as a learner with an empty log, catches up and
# is promoted to voter), then removes a voter with DELETE /v1/members/{id}; writes go
# on throughout and every member ends with every acknowledged write and one state
# root. A request to a follower is redirected (307) to the leader.
#
# Usage: cluster_membership_test.sh VELLUM_DB VELLUM_NODE
set -euo pipefail

VELLUM_DB=${1:?usage: cluster_membership_test.sh VELLUM_DB VELLUM_NODE}
VELLUM_NODE=${2:?usage: cluster_membership_test.sh VELLUM_DB VELLUM_NODE}
max_node=4
source "$(dirname "$0")/cluster_test_lib.sh"

"$VELLUM_DB" cluster init --nodes 3 --dir "$dir/c" --base-port "$base" > /dev/null
# Node 4 joins the running cluster: cluster add-node signs its certificate with the
# cluster's CA and writes its keys, a node.yaml with join: true and its member record.
"$VELLUM_DB" cluster add-node --dir "$dir/c" --id 4 > /dev/null
grep -q '^join: true$' "$dir/c/n4/node.yaml" || fail "n4/node.yaml lacks join: true"
[ "$(wc -l < "$dir/c/endpoints")" = 4 ] || fail "cluster add-node did not add node 4's endpoint"
record=$(cat "$dir/c/n4/member.json")

for i in 1 2 3; do start_node "$i"; done
leader=$(wait_for_leader)
follower=$((leader % 3 + 1))
for k in $(seq 1 10); do put_until_acked "$follower" "three-$k" "value-$k"; done

r=$(api POST "$(endpoint "$follower")/v1/members" "$record")
[ "${r%% *}" = 307 ] || fail "POST /v1/members on a follower: expected 307, got $r"
r=$(api POST "$(endpoint "$leader")/v1/members" "$record")
[ "${r%% *}" = 200 ] || fail "POST /v1/members: $r"
echo "node 4 added as a learner: $r"
r=$(api POST "$(endpoint "$leader")/v1/members" "$record")
[ "${r%% *}" = 409 ] || fail "adding node 4 twice: expected 409, got $r"

start_node 4
for k in $(seq 1 10); do put_until_acked "$follower" "four-$k" "value-$k"; done
deadline=$((SECONDS + 30))
until api GET "$(endpoint "$leader")/v1/status" | grep -q '"voters":\[1,2,3,4\]'; do
  [ $SECONDS -lt $deadline ] || fail "node 4 was not promoted to voter"
  sleep 0.2
done
wait_until_converged 1 2 3 4
check_acked_writes 1 2 3 4
echo "node 4 caught up and was promoted: applied index $applied_index on all four"

# Remove a voter that is not the leader, and go on writing.
gone=$follower
r=$(api DELETE "$(endpoint "$leader")/v1/members/$gone")
[ "${r%% *}" = 200 ] || fail "DELETE /v1/members/$gone: $r"
r=$(api DELETE "$(endpoint "$leader")/v1/members/$gone")
[ "${r%% *}" = 404 ] || fail "removing node $gone twice: expected 404, got $r"
stop_gracefully "$gone"
remaining=()
for i in 1 2 3 4; do [ "$i" = "$gone" ] || remaining+=("$i"); done
for k in $(seq 1 10); do put_until_acked 4 "after-$k" "value-$k"; done
wait_until_converged "${remaining[@]}"
check_acked_writes "${remaining[@]}"
stop_gracefully "${remaining[@]}"

# The log key holders followed the membership. A founder's log: entry keys split 2 of
# 3, then 3 of 4 while node 4 was a member, then 2 of 3 again. Node 4's starts with
# the four members its config lists.
key_splits() {
  env -u VELLUM_KEY_FILE "$VELLUM_DB" log show --db "$dir/c/n$1/data/ledger" |
    grep -o '[0-9]*-of-[0-9]*' | uniq | tr '\n' ' '
}
splits=$(key_splits "$leader")
[ "$splits" = "2-of-3 3-of-4 2-of-3 " ] ||
  fail "node $leader's log entry keys were split $splits; expected 2-of-3 3-of-4 2-of-3"
splits4=$(key_splits 4)
[ "$splits4" = "3-of-4 2-of-3 " ] ||
  fail "node 4's log entry keys were split $splits4; expected 3-of-4 2-of-3"
echo "log entry keys split $splits(node $leader), $splits4(node 4)"
echo "PASS: node 4 joined and became a voter, node $gone was removed; ${#acked[@]}" \
  "acknowledged writes on nodes ${remaining[*]}; state root $state_root on each"
