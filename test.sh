#!/usr/bin/env bash
# Installs what the tests need when it is missing (memcached, libmemcached-tools, php-cli, php-memcache, etcd-server,
# php-memcached), builds, and runs every test: unit tests, wire-fault tests, and integration tests against real
# memcached processes and the real PHP extensions. Extra arguments go to `dotnet test` (e.g. --filter Integrity).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/ensure-deps.sh
ensure_test_deps

dotnet build Ballast.slnx -c Release -nologo -v q
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test tests/Ballast.Tests/Ballast.Tests.csproj -c Release --no-build -nologo "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# A bounded AFL++ run of the response parser (scripts/fuzz.sh; FUZZ_SECONDS=0 skips it, e.g. while iterating with a
# --filter). A crash fails the run like a failed test.
fuzz_status=0
if [ "${FUZZ_SECONDS:-45}" -gt 0 ]; then
  scripts/fuzz.sh "${FUZZ_SECONDS:-45}" || fuzz_status=$?
fi

# One plain closing line that any CI reads: "tests: N passed, N failed".
summary=$(grep -E '(Passed|Failed)!' "$log" | tail -n 1)
passed=$(sed -nE 's/.*Passed: *([0-9]+).*/\1/p' <<<"$summary")
failed=$(sed -nE 's/.*Failed: *([0-9]+),.*/\1/p' <<<"$summary")
echo "tests: ${passed:-0} passed, ${failed:-0} failed"
if [ -z "$summary" ] && [ "$status" -eq 0 ]; then
  echo "No test ran." >&2
  exit 1
fi
[ "$status" -eq 0 ] && status=$fuzz_status
exit "$status"
