#!/usr/bin/env bash
# The README's main job: build Vellum (release) and show the CLI at work.
set -euo pipefail
cd "$(dirname "$0")/.."

cmake --preset release >/dev/null
cmake --build --preset release

vellum_db=build/release/tools/vellum-db
echo
echo "== vellum-db --help"
"$vellum_db" --help
echo
echo "== split a secret 3-of-5 and recover it from shares 1, 3 and 5"
shares=$(printf 'correct horse battery staple' | "$vellum_db" shamir split --threshold 3 --shares 5)
echo "$shares" | cut -c1-60 | sed 's/$/.../'
printf '%s\n' "$shares" | sed -n '1p;3p;5p' | "$vellum_db" shamir combine
echo
echo "== a native Merkle-Patricia trie: root, a proof of one key, and its verification"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for i in $(seq 1 1000); do
  printf '{"key":"%064x","value":"%s"}\n' "$i" "$(printf 'value %d' "$i" | od -An -tx1 | tr -d ' \n')"
done > "$work/pairs.jsonl"
"$vellum_db" trie root --scheme native "$work/pairs.jsonl"
"$vellum_db" trie prove --scheme native "$work/pairs.jsonl" "$(printf '%064x' 7)" > "$work/proof.json"
echo "proof: $(wc -c < "$work/proof.json") bytes of JSON"
printf 'verified value: '
hex=$("$vellum_db" trie verify --scheme native "$work/proof.json")
printf '%b' "$(printf '%s' "$hex" | sed 's/../\\x&/g')"
echo
printf 'absent key: '
"$vellum_db" trie prove --scheme native "$work/pairs.jsonl" "$(printf '%064x' 5000)" > "$work/absent.json"
"$vellum_db" trie verify --scheme native "$work/absent.json"
