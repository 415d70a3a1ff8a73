#!/usr/bin/env bash
# Alternates two builds of the CLI in `ballast bench --peers none` runs, so both see the machine in the same minutes.
# Usage: scripts/bench/ab.sh DIR_A DIR_B ROUNDS [bench options...]
#   DIR_A, DIR_B: folders holding a built Ballast.Cli.dll (copy src/Ballast.Cli/bin/Release/net10.0 aside per build)
#   e.g. scripts/bench/ab.sh ../before ../after 4 --concurrency 256
# Prints one line per run: the build's folder name, ops/s, client CPU per operation, allocation per operation.
set -euo pipefail
[ $# -ge 3 ] || { sed -n 2,6p "$0"; exit 2; }
a=$1; b=$2; rounds=$3; shift 3
for _ in $(seq 1 "$rounds"); do
  for dir in "$a" "$b"; do
    out=$(dotnet "$dir/Ballast.Cli.dll" bench --duration 8s --peers none "$@" 2>&1)
    echo "$(basename "$dir") $(echo "$out" | grep -o 'Ballast: *[0-9,]* ops/s' | tr -s ' ') $(echo "$out" | grep -o 'client CPU [0-9.]* us/op') $(echo "$out" | grep -o 'alloc [0-9]* B/op')"
  done
done
