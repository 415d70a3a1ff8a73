# Sourced by demo.sh and test.sh: installs the system packages Ballast's tests and tools drive, when missing.
# memcached (the servers), libmemcached-tools (memcaslap, the C peer in benchmarks), php-cli with php-memcache and
# php-memcached (the PHP peers whose key distribution Ballast must match), gcc (builds the mgblast ceiling probe).

ensure_packages() {
  local missing=()
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
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing: ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  # The Debian package starts a memcached service on 11211; Ballast's tests start their own servers and need
  # 127.0.0.1:11211 free for the PHP-compatibility tests that use the default port.
  if command -v systemctl >/dev/null && systemctl is-active --quiet memcached 2>/dev/null; then
    $sudo systemctl stop memcached >/dev/null 2>&1 || true
  fi
}

ensure_dotnet() {
  command -v dotnet >/dev/null || { echo "The .NET 10 SDK is required (dotnet on PATH)." >&2; exit 1; }
}

ensure_test_deps() {
  ensure_dotnet
  ensure_packages
}
