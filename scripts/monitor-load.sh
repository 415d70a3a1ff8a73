#!/usr/bin/env bash
# Measures `ballast monitor`'s own load on each server: 3 memcached servers on loopback, the monitor alone (no
# application), and the servers' counters read before and after a window (default 30 s). Prints, per server, the
# commands per second memcached counted and the bytes per second it read and wrote, and the monitor's CPU use.
# Usage: scripts/monitor-load.sh [seconds]   (builds nothing: run `dotnet build Ballast.slnx -c Release` first)
set -euo pipefail
cd "$(dirname "$0")/.."
window=${1:-30}
cli=src/Ballast.Cli/bin/Release/net10.0/Ballast.Cli.dll
[ -f "$cli" ] || { echo "build first: dotnet build Ballast.slnx -c Release" >&2; exit 1; }
user=()
[ "$(id -u)" -eq 0 ] && user=(-u nobody)

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

ports=()
for _ in 1 2 3; do
  port=$(free_port)
  memcached "${user[@]}" -l 127.0.0.1 -p "$port" -U 0 -t 2 -m 64 &
  pids+=($!)
  ports+=("$port")
done
servers=$(printf '127.0.0.1:%s,' "${ports[@]}"); servers=${servers%,}
web=$(free_port)
sleep 0.5
dotnet "$cli" monitor --servers "$servers" --listen "127.0.0.1:$web" >/dev/null 2>&1 &
monitor=$!
pids+=("$monitor")

# The counters of one server, "name value" per line, straight from memcached (no client, no shared view).
stats() {
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  printf 'stats\r\nquit\r\n' >&3
  tr -d '\r' <&3 | awk '$1 == "STAT" { print $2, $3 }'
  exec 3<&-
}
cpu() { awk '{ print $14 + $15 }' "/proc/$monitor/stat"; }

sleep 5   # start-up: the first view read (a brand-new pool's one flush per server), connections, JIT
declare -A before
for port in "${ports[@]}"; do before[$port]=$(stats "$port"); done
cpu_before=$(cpu)
sleep "$window"
cpu_after=$(cpu)
ticks=$(getconf CLK_TCK)

echo "ballast monitor alone against 3 servers, ${window} s (per second; the one 'stats' this script sends each time is not counted by memcached's cmd_* counters)"
printf '%-22s %8s %8s %8s %8s %8s %10s %10s %6s\n' server cmd_get cmd_set cmd_touch get_hits cmd_flush bytes_read bytes_wrtn conns
for port in "${ports[@]}"; do
  after=$(stats "$port")
  join <(sort <<<"${before[$port]}") <(sort <<<"$after") | awk -v w="$window" -v s="127.0.0.1:$port" '
    { d[$1] = ($3 - $2) / w; now[$1] = $3 }
    END { printf "%-22s %8.1f %8.1f %8.1f %8.1f %8.2f %10.0f %10.0f %6d\n", s, d["cmd_get"], d["cmd_set"], d["cmd_touch"], d["get_hits"], d["cmd_flush"], d["bytes_read"], d["bytes_written"], now["curr_connections"] }'
done
awk -v a="$cpu_after" -v b="$cpu_before" -v t="$ticks" -v w="$window" 'BEGIN { printf "monitor CPU: %.1f%% of one core\n", 100 * (a - b) / t / w }'
echo "monitor RSS: $(awk '/VmRSS/ { print $2, $3 }' /proc/$monitor/status)"
