#!/usr/bin/env bash
# Hand mutation check: each mutant in scripts/mutation/mutants removes one mechanism the promise depends on; the
# tests named by its filter must fail with it applied. For each mutant, one at a time: check it still applies (exactly
# one match of each find text; otherwise stop loudly, the mutant must follow the refactor), apply it in place, build
# the test project, run the filter, record killed/survived, and restore the files byte for byte (also on Ctrl-C or an
# error). Files a mutant touches must have no uncommitted changes, so restoring never loses work.
#
# Usage: scripts/mutation/run.sh [--check] [NAME...]   (NAME: a mutant file's name without .mutant; default all)
#   --check   only verify that every mutant still applies to the code (no build, no tests; seconds)
# Results: one line per mutant on stdout and in scripts/mutation/last-run.txt; exit status 0 only if every mutant was
# killed, 1 if any survived, 3 if any no longer applies or did not build.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=scripts/mutation
check_only=0
if [ "${1:-}" = "--check" ]; then check_only=1; shift; fi

mutants=()
if [ $# -eq 0 ]; then
  mutants=("$here"/mutants/*.mutant)
else
  for name in "$@"; do mutants+=("$here/mutants/$name.mutant"); done
fi

status=0
for mutant in "${mutants[@]}"; do
  [ -f "$mutant" ] || { echo "no such mutant: $mutant" >&2; exit 3; }
  if ! python3 "$here/apply.py" "$mutant" --check; then
    echo "MUTANT DOES NOT APPLY: $(basename "$mutant" .mutant): update it to follow the code" >&2
    exit 3
  fi
done
if [ "$check_only" = 1 ]; then
  echo "all ${#mutants[@]} mutants apply"
  exit 0
fi

results="$here/last-run.txt"
: > "$results"
backup=$(mktemp -d)
restore() {
  if [ -f "$backup/files" ]; then
    while IFS= read -r file; do cp "$backup/$(echo "$file" | tr / _)" "$file"; done < "$backup/files"
    rm -f "$backup/files"
  fi
}
trap 'restore; rm -rf "$backup"' EXIT
trap 'exit 130' INT TERM

killed=0
total=0
for mutant in "${mutants[@]}"; do
  name=$(basename "$mutant" .mutant)
  filter=$(python3 "$here/apply.py" "$mutant" --field filter)
  mechanism=$(python3 "$here/apply.py" "$mutant" --field mechanism)
  files=$(python3 "$here/apply.py" "$mutant" --files)
  for file in $files; do
    if ! git diff --quiet HEAD -- "$file"; then
      echo "$file has uncommitted changes; commit or stash them before mutating it" >&2
      exit 3
    fi
    cp "$file" "$backup/$(echo "$file" | tr / _)"
  done
  echo "$files" > "$backup/files"
  python3 "$here/apply.py" "$mutant" --apply
  total=$((total + 1))
  log="$backup/$name.log"
  if ! dotnet build tests/Ballast.Tests -c Release -nologo -v q > "$log" 2>&1; then
    verdict="BUILD-FAILED"
    status=3
    tail -20 "$log" >&2
  else
    set +e
    dotnet test tests/Ballast.Tests -c Release --no-build -nologo --filter "$filter" >> "$log" 2>&1
    rc=$?
    set -e
    if grep -q "No test matches the given testcase filter" "$log"; then
      verdict="NO-TESTS"
      status=3
    elif [ "$rc" -ne 0 ]; then
      verdict="killed"
      killed=$((killed + 1))
    else
      verdict="SURVIVED"
      [ "$status" = 0 ] && status=1
    fi
  fi
  restore
  line="$name: $verdict ($mechanism) [filter: $filter]"
  echo "$line" | tee -a "$results"
  grep -E "^\s*(Failed|Passed) [A-Za-z]|Passed!|Failed!" "$log" | head -8 | sed 's/^/    /' | tee -a "$results"
done

# Leave the binaries matching the unmutated code.
dotnet build tests/Ballast.Tests -c Release -nologo -v q > /dev/null 2>&1 || echo "rebuild of the unmutated tree failed" >&2
echo "score: $killed of $total mutants killed" | tee -a "$results"
exit "$status"
