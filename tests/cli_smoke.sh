#!/usr/bin/env bash
# The native CLI end to end: sample -> XYZ/SDF -> score, and clear failures on bad input.
# usage: cli_smoke.sh path/to/enf
set -euo pipefail
enf=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$enf" sample --atoms 9 --seed 3 --format xyz --out "$tmp/m.xyz"
head -1 "$tmp/m.xyz" | grep -qx 9
"$enf" sample --atoms 9 --seed 3 --format sdf | grep -q 'V2000'
"$enf" sample --count 2 --seed 1 --format json | grep -q '"stable"'
"$enf" trajectory --atoms 6 --seed 2 --frames 5 | grep -c '^frame' | grep -qx 5
"$enf" score "$tmp/m.xyz" --trace hutchinson --probes 2 | grep -q '"log_likelihood":-\?[0-9]'
# The exact trace on 1 and 2 threads: the same figure, to the last digit printed.
one=$("$enf" score "$tmp/m.xyz" --trace exact --rtol 1e-3 --atol 1e-3 | sed 's/,"ms":.*//')
two=$("$enf" score "$tmp/m.xyz" --trace exact --rtol 1e-3 --atol 1e-3 --threads 2 | sed 's/,"ms":.*//')
[ "$one" = "$two" ] || { echo "threads changed the exact score: $one vs $two"; exit 1; }
printf '2\nbad\nH 0 0 0\n' > "$tmp/bad.xyz"
if "$enf" score "$tmp/bad.xyz" 2> "$tmp/err"; then echo "accepted a truncated XYZ"; exit 1; fi
grep -q 'XYZ line 4' "$tmp/err"
if "$enf" sample --atoms 40 2> "$tmp/err"; then echo "accepted 40 atoms"; exit 1; fi
grep -q 'atoms' "$tmp/err"
if "$enf" sample --weights /nonexistent 2> "$tmp/err"; then echo "accepted missing weights"; exit 1; fi
grep -q 'cannot open weights file' "$tmp/err"
echo "cli smoke: ok"
