# Sourced by demo.sh and test.sh: installs the system packages Ballast's tests and tools drive, when missing.
# memcached (the servers), libmemcached-tools (memcaslap, the C peer in benchmarks), php-cli with php-memcache and
# php-memcached (the PHP peers whose key distribution Ballast must match), gcc (builds the mgblast ceiling probe), afl++
# (fuzzes the response parser, scripts/fuzz.sh), redis-server (the peer of the IDistributedCache benchmark,
# bench/Ballast.DistributedCacheBench), etcd-server (the shared view's etcd store; tests and `ballast chaos --view etcd`
# start their own etcd), chromium (headless, drives the status page of `ballast monitor` in its browser test through
# Playwright; no browser is downloaded).

ensure_packages() {
  local missing=()
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  command -v memcached >/dev/null || missing+=(memcached)
  command -v memcaslap >/dev/null || missing+=(libmemcached-tools)
  command -v php >/dev/null || missing+=(php-cli)
  if command -v php >/dev/null; then
    php -m 2>/dev/null | grep -qx memcache || missing+=(php-memcache)
    php -m 2>/dev/null | grep -qx memcached || missing+=(php-memcached)
  else
    missing+=(php-memcache php-memcached)
  fi
  command -v gcc >/dev/null || missing+=(gcc)
  command -v afl-fuzz >/dev/null || missing+=(afl++)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v etcd >/dev/null || missing+=(etcd-server)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing: ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  # The Debian packages may start memcached and etcd services on 127.0.0.1:11211. It is left alone: the tests start their
  # own servers on free ports, and those that need port 11211 use other loopback addresses (127.0.0.2 and up).
}

ensure_dotnet() {
  command -v dotnet >/dev/null || { echo "The .NET 10 SDK is required (dotnet on PATH)." >&2; exit 1; }
}

ensure_test_deps() {
  ensure_dotnet
  ensure_packages
}
