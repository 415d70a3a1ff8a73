#!/usr/bin/env bash
# Installs what the tests need when it is missing, then runs every test.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/ensure-deps.sh
ensure_test_deps
dotnet build Ballast.slnx -c Release -nologo -v q
dotnet test tests/Ballast.Tests/Ballast.Tests.csproj -c Release --no-build -nologo "$@"
