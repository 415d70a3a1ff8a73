#!/usr/bin/env bash
# Fuzzes the response parser with AFL++ and SharpFuzz for a bounded time: `scripts/fuzz.sh [seconds]` (default 60;
# ./test.sh runs it for 45 s, and by hand `scripts/fuzz.sh 3600` runs an hour). The harness is
# fuzz/Ballast.Fuzz (ResponseParserHarness); it runs against a copy of the built Ballast.dll instrumented by the
# sharpfuzz tool (.config/dotnet-tools.json). Inputs that crash it are copied to fuzz/Ballast.Fuzz/crashes/, which the
# tests replay (FUZZ_CRASH_DIR puts them elsewhere), and the script exits 1. Control:
# `BALLAST_FUZZ_PLANTED_BUG=1 FUZZ_CRASH_DIR=/tmp/c scripts/fuzz.sh 20` must exit 1 with crashes. Expects `dotnet build Ballast.slnx -c Release` to have run.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
crash_dir=${FUZZ_CRASH_DIR:-fuzz/Ballast.Fuzz/crashes}

if ! command -v afl-fuzz >/dev/null; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq afl++ >/dev/null
fi
dotnet tool restore >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r fuzz/Ballast.Fuzz/bin/Release/net10.0 "$work/bin"
dotnet tool run sharpfuzz "$work/bin/Ballast.dll" >/dev/null

# AFL_SKIP_CPUFREQ and AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES: a shared CI machine's CPU governor and core_pattern are
# not ours to change. -V stops after the given seconds; timeout is the backstop should AFL itself hang.
AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_SKIP_BIN_CHECK=1 \
  timeout --signal=INT $((seconds + 120)) \
  afl-fuzz -i fuzz/Ballast.Fuzz/corpus -o "$work/findings" -t 10000 -m none -V "$seconds" -- dotnet "$work/bin/Ballast.Fuzz.dll" \
  >"$work/afl.log" 2>&1 || { echo "afl-fuzz failed:" >&2; tail -n 30 "$work/afl.log" >&2; exit 2; }

stats=$(find "$work/findings" -name fuzzer_stats | head -n 1)
execs=$(sed -nE 's/^execs_done *: *([0-9]+).*/\1/p' "$stats")
paths=$(sed -nE 's/^corpus_count *: *([0-9]+).*/\1/p' "$stats")
crashes=$(find "$work/findings" -path '*crashes/id:*' -type f | wc -l)
echo "fuzz: ${seconds} s, ${execs:-0} executions, ${paths:-0} inputs in the queue, ${crashes} crashes"
if [ "$crashes" -gt 0 ]; then
  mkdir -p "$crash_dir"
  find "$work/findings" -path '*crashes/id:*' -type f | while read -r crash; do
    cp "$crash" "$crash_dir/$(sha1sum "$crash" | cut -c1-16).bin"
  done
  echo "fuzz: crashing inputs copied to $crash_dir (replay: dotnet fuzz/Ballast.Fuzz/bin/Release/net10.0/Ballast.Fuzz.dll --replay $crash_dir)" >&2
  exit 1
fi
if [ "${execs:-0}" -eq 0 ]; then
  echo "fuzz: AFL ran no input; the harness did not start." >&2
  tail -n 30 "$work/afl.log" >&2
  exit 2
fi
