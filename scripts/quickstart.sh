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
