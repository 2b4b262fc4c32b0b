#!/usr/bin/env bash
# Copyright (c) Vellum authors.
#
# The client API of docs/api.md on three real vellum-node processes, driven with curl:
# writes through a follower, linearizable / stale / versioned reads, proofs checked
# with `vellum-db proof verify`, transactions (all or none), history, digests, status,
# health, metrics, percent-encoded binary keys, and the errors a client can cause.
#
# Usage: cluster_api_test.sh VELLUM_DB VELLUM_NODE
set -euo pipefail

VELLUM_DB=${1:?usage: cluster_api_test.sh VELLUM_DB VELLUM_NODE}
VELLUM_NODE=${2:?usage: cluster_api_test.sh VELLUM_DB VELLUM_NODE}
max_node=3
source "$(dirname "$0")/cluster_test_lib.sh"

expect() {  # expect WHAT WANT_STATUS "STATUS BODY" [BODY_SUBSTRING]
  local status=${3%% *} body=${3#* }
  [ "$status" = "$2" ] || fail "$1: expected HTTP $2, got: $3"
  if [ $# -ge 4 ]; then
    case "$body" in *"$4"*) ;; *) fail "$1: expected '$4' in: $body" ;; esac
  fi
}

"$VELLUM_DB" cluster init --nodes 3 --dir "$dir/c" --base-port "$base" > /dev/null
for i in 1 2 3; do start_node "$i"; done
leader=$(wait_for_leader)
f=$((leader % 3 + 1))
F=$(endpoint "$f")
L=$(endpoint "$leader")

# Writes through a follower; the answer names the version and state root.
r=$(api PUT "$F/v1/kv/accounts/alice" 100)
expect "PUT through a follower" 200 "$r" '"version":1'
root1=$(field state_root "${r#* }")
expect "linearizable GET on the leader" 200 "$(api GET "$L/v1/kv/accounts/alice")" 100
expect "absent key" 404 "$(api GET "$F/v1/kv/accounts/nobody")" NotFound
expect "absent table" 404 "$(api GET "$F/v1/kv/nowhere/alice")" NotFound

# A binary key, percent-encoded (NUL and 0xff bytes).
expect "PUT binary key" 200 "$(api PUT "$F/v1/kv/accounts/a%00b%FF" bin)"
expect "GET binary key" 200 "$(api GET "$L/v1/kv/accounts/a%00b%FF")" bin

# Transactions: all or none.
txn='{"ops":[{"op":"put","table":"accounts","key":"bob","value":"50"},'
txn+='{"op":"put","table":"orders","key":"o-1","value":"alice:10"}]}'
expect "txn" 200 "$(api POST "$F/v1/txn" "$txn")" '"version":3'
bad='{"ops":[{"op":"put","table":"accounts","key":"carol","value":"1"},'
bad+='{"op":"delete","table":"missing","key":"x"}]}'
expect "txn with a failing op" 404 "$(api POST "$F/v1/txn" "$bad")" NotFound
expect "nothing of it applied" 404 "$(api GET "$L/v1/kv/accounts/carol")"
hex='{"encoding":"hex","ops":[{"op":"put","table":"accounts","key":"00ff","value":"6869"}]}'
expect "hex txn" 200 "$(api POST "$F/v1/txn" "$hex")"
expect "hex key read" 200 "$(api GET "$L/v1/kv/accounts/%00%FF")" hi
expect "malformed txn" 400 "$(api POST "$F/v1/txn" '{"ops":[{"op":"smash"}]}')" InvalidArgument
expect "reserved table" 400 "$(api PUT "$F/v1/kv/__vellum_node/x" 1)" reserved

# Versions, stale reads, deletes and history.
expect "update" 200 "$(api PUT "$F/v1/kv/accounts/alice" 90)"
expect "read at version 1" 200 "$(api GET "$F/v1/kv/accounts/alice?at=1")" 100
expect "version beyond the latest" 404 "$(api GET "$F/v1/kv/accounts/alice?at=999")"
expect "bad version" 400 "$(api GET "$F/v1/kv/accounts/alice?at=x")"
expect "delete" 200 "$(api DELETE "$F/v1/kv/accounts/alice")"
expect "deleted" 404 "$(api GET "$L/v1/kv/accounts/alice")"
r=$(api GET "$F/v1/history/accounts/alice")
expect "history" 200 "$r" '{"version":1,"value":"100","verified":true}'
expect "history shows the delete" 200 "$r" '"value":null'
expect "history of a binary key needs hex" 400 "$(api GET "$F/v1/history/accounts/%00%FF")"
expect "history in hex" 200 "$(api GET "$F/v1/history/accounts/%00%FF?encoding=hex")" '"6869"'

# A proof from a node, checked with no database against the root a write returned.
wait_until_converged 1 2 3
r=$(api GET "$F/v1/kv/accounts/bob?proof=true&consistency=stale")
expect "proof" 200 "$r" '"format":"vellum-ledger-proof-v1"'
echo "${r#* }" > "$dir/proof.json"
root=$(field state_root "$(api GET "$L/v1/digest" | cut -d' ' -f2-)")
"$VELLUM_DB" proof verify "$dir/proof.json" --root "$root" | grep -q "value: 50" ||
  fail "the proof does not verify against the digest's state root"
if "$VELLUM_DB" proof verify "$dir/proof.json" --root "$root1" > /dev/null 2>&1; then
  fail "the proof verified against an older state root"
fi
r=$(api GET "$F/v1/kv/accounts/nobody?proof=true")
expect "absence proof" 200 "$r" '"value":null'

# Digest, status, health, metrics, unknown paths and methods.
expect "digest" 200 "$(api GET "$F/v1/digest")" '"format":"vellum-digest-v1"'
expect "status" 200 "$(api GET "$F/v1/status")" "\"leader\":$leader"
expect "healthz" 200 "$(api GET "$F/healthz")" '"status":"ok"'
expect "metrics" 200 "$(api GET "$F/metrics")" vellum_raft_commit_index
expect "unknown path" 404 "$(api GET "$F/v1/nothing")"
expect "wrong method" 405 "$(api POST "$F/v1/status" x)"
expect "members" 200 "$(api GET "$F/v1/members")" '"role":"voter"'

# A node without a quorum says so (503) instead of hanging.
others=()
for i in 1 2 3; do [ "$i" = "$f" ] || others+=("$i"); done
stop_gracefully "${others[@]}"
start=$SECONDS
expect "write without a quorum" 503 "$(api PUT "$F/v1/kv/accounts/zed" 1)" Unavailable
[ $((SECONDS - start)) -le 8 ] || fail "the 503 took $((SECONDS - start)) s"
expect "health without a quorum" 503 "$(api GET "$F/healthz")"
expect "stale read without a quorum" 200 "$(api GET "$F/v1/kv/accounts/bob?consistency=stale")" 50
stop_gracefully "$f"
echo "PASS: the client API on a 3-node cluster (writes, reads, proofs, txn, history, digest," \
  "status, health, metrics, errors, 503 without a quorum)"
