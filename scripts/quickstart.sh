#!/usr/bin/env bash
# The README's main job: build Vellum (release) and show vellum-db at work: a ledger
# with three log key holders (any two decrypt the log), writes, verified reads,
# history, a proof checked with no database, a signed digest, an audit, reading the
# encrypted log, crypto-shredding, then Shamir key splitting, a bare Merkle-Patricia
# trie and the embedding example. Everything happens in a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."

cmake --preset release >/dev/null
cmake --build --preset release

bin=$PWD/build/release/tools/vellum-db
example=$PWD/build/release/examples/vellum_example_embed
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# Shows each command before its output; `vdb_to FILE ...` sends the output to FILE;
# a command that is expected to fail is run with `fails`, which shows its exit code.
vdb() {
  printf '$ vellum-db %s\n' "$*"
  "$bin" "$@"
}
vdb_to() {
  local file=$1
  shift
  printf '$ vellum-db %s > %s\n' "$*" "$file"
  "$bin" "$@" > "$file"
}
fails() {
  printf '$ vellum-db %s\n' "$*"
  local rc=0
  "$bin" "$@" || rc=$?
  if [ "$rc" -eq 0 ]; then
    echo "quickstart: expected 'vellum-db $*' to fail" >&2
    exit 1
  fi
  echo "(exit $rc)"
}
section() { printf '\n== %s\n' "$1"; }

section "vellum-db --help"
"$bin" --help

section "three log key holders: each makes a key pair and hands over the public key"
for holder in alice bob carol; do
  vdb_to "$holder.pub" keys new --out "$holder.key"
  cat "$holder.pub"
done
alice=$(cat alice.pub) bob=$(cat bob.pub) carol=$(cat carol.pub)

section "a ledger in ./vellum-data whose log any 2 of the 3 holders can decrypt"
export VELLUM_KEY_FILE=$work/master.key   # the master key file (init creates it)
vdb init --holder "$alice" --holder "$bob" --holder "$carol" --threshold 2

section "writes (each one a new version, synced) and verified reads"
vdb put accounts alice 100
vdb put accounts bob 250
vdb put accounts alice 120
vdb --json put audit 2024-06-01T10:00 alice-login
vdb get accounts alice
vdb get --at 1 accounts alice
vdb history accounts alice
vdb delete accounts bob
fails get accounts bob
vdb tables
vdb scan accounts

section "a proof, checked with no database against a signed digest's state root"
vdb_to digest.json digest
cat digest.json
root=$(sed -E 's/.*"state_root":"([0-9a-f]{64})".*/\1/' digest.json)
vdb_to proof.json get --proof accounts alice
echo "proof.json: $(wc -c < proof.json) bytes of JSON"
vdb proof verify proof.json --root "$root"
# The proof JSON holds names and data as hex: claim alice has 999 ("393939") instead.
sed -E 's/"value":"[0-9a-f]*"/"value":"393939"/' proof.json > forged.json
fails proof verify --key-file "$VELLUM_KEY_FILE" forged.json --root "$root"

section "an audit of everything, and a check that the ledger extends the earlier digest"
vdb put accounts carol 7 > /dev/null
vdb verify --against digest.json

section "tamper evidence: one byte edited on disk, and the audit against the digest fails"
cp -r vellum-data tampered
# The largest file holds the most data (the write-ahead log here); flip one byte in
# its middle. Whatever it hits, the audit reports it: a checksum, a hash or a chain
# link fails, or the log no longer reaches the digest taken above.
target=$(ls -S tampered/*.log tampered/*.sst 2>/dev/null | head -n 1)
offset=$(( $(stat -c %s "$target") / 2 ))
byte=$(od -An -tu1 -j "$offset" -N1 "$target" | tr -d ' ')
printf "$(printf '\\%03o' $(( byte ^ 0x5a )))" |
  dd of="$target" bs=1 seek="$offset" conv=notrunc status=none
echo "flipped byte $offset of $(basename "$target") ($(stat -c %s "$target") bytes)"
fails --db tampered verify --against digest.json
rm -rf tampered

section "the log: headers need no key; payloads need 2 of the 3 holder keys"
vdb log show --from 1 --to 1
vdb log decrypt --holder-key alice.key --holder-key carol.key --index 1
fails log decrypt --holder-key bob.key --index 1

section "crypto-shredding: forget entries 1..2; the chain still verifies, without a key"
vdb forget --from 1 --to 2
fails log decrypt --holder-key alice.key --holder-key bob.key --index 1
(unset VELLUM_KEY_FILE && vdb log verify)
vdb stats

section "split a secret 3-of-5 and recover it from shares 1, 3 and 5"
shares=$(printf 'correct horse battery staple' | "$bin" shamir split --threshold 3 --shares 5)
echo "$shares" | cut -c1-60 | sed 's/$/.../'
printf '%s\n' "$shares" | sed -n '1p;3p;5p' | "$bin" shamir combine
echo

section "a bare native Merkle-Patricia trie: root, a proof of one key, and its verification"
for i in $(seq 1 1000); do
  printf '{"key":"%064x","value":"%s"}\n' "$i" "$(printf 'value %d' "$i" | od -An -tx1 | tr -d ' \n')"
done > pairs.jsonl
"$bin" trie root --scheme native pairs.jsonl
"$bin" trie prove --scheme native pairs.jsonl "$(printf '%064x' 7)" > trie-proof.json
echo "proof: $(wc -c < trie-proof.json) bytes of JSON"
printf 'verified value: '
hex=$("$bin" trie verify --scheme native trie-proof.json)
printf '%b' "$(printf '%s' "$hex" | sed 's/../\\x&/g')"
echo

section "embedding: examples/embed_ledger.cc, a program over include/vellum/"
"$example"
