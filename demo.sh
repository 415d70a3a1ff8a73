#!/usr/bin/env bash
# The Ballast demo: installs what it needs when missing, builds Release, then runs `ballast demo` (about two minutes):
# PECL-style rehash against Ballast's offline, gutter and replicated policies under kill, blackhole, partition and
# SIGSTOP faults on real memcached servers. Writes the HTML timeline to artifacts/chaos-report.html.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/ensure-deps.sh
ensure_test_deps
dotnet build src/Ballast.Cli/Ballast.Cli.csproj -c Release -nologo -v q
dotnet src/Ballast.Cli/bin/Release/net10.0/Ballast.Cli.dll demo --report artifacts/chaos-report.html "$@"
