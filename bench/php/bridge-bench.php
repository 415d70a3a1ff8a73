<?php
// The PHP bridge's per-request cost: get and set through Ballast\Pool against the bare extension, same servers, same
// keys, in alternating slices (so a noisy neighbour slows both alike). The view must exist (run any .NET frontend or
// `ballast --servers ... set x y` once first). Usage:
//   php bench/php/bridge-bench.php memcache|memcached 127.0.0.1:11211,... [operations per slice] [slices]
declare(strict_types=1);
error_reporting(E_ALL & ~E_DEPRECATED);
require __DIR__ . '/../../php/ballast.php';

[, $extension, $servers] = $argv + [null, null, null];
$perSlice = (int) ($argv[3] ?? 20000);
$slices = (int) ($argv[4] ?? 10);
if (!in_array($extension, ['memcache', 'memcached'], true) || $servers === null || $perSlice < 1 || $slices < 1) {
    fwrite(STDERR, "usage: php bridge-bench.php memcache|memcached host:port,... [operations per slice] [slices]\n");
    exit(2);
}

$distribution = $extension === 'memcache' ? 'pecl-consistent' : 'ketama';
$bridged = $extension === 'memcache' ? new Memcache() : new Memcached();
$pool = new Ballast\Pool($bridged, ['servers' => $servers, 'distribution' => $distribution, 'hash' => 'crc32']);
$bare = $extension === 'memcache' ? new Memcache() : new Memcached();
if ($bare instanceof Memcached) {
    $bare->setOption(Memcached::OPT_LIBKETAMA_COMPATIBLE, true);
    $bare->setOption(Memcached::OPT_COMPRESSION, false);
}
foreach (explode(',', $servers) as $server) {
    [$host, $port] = explode(':', $server);
    $bare instanceof Memcache ? $bare->addServer($host, (int) $port, false) : $bare->addServer($host, (int) $port);
}

$keys = [];
for ($i = 0; $i < 1000; $i++) {
    $keys[] = "bench:$i";
}
$value = str_repeat('v', 100);
$pool->refresh();
if (!$pool->isViewFresh()) {
    fwrite(STDERR, "the bridge could not read the view from a quorum: are the servers up and the view written?\n");
    exit(1);
}

$ops = [
    'get (bare)' => static fn ($k) => $bare->get($k),
    'get (bridge)' => static fn ($k) => $pool->get($k),
    'set (bare)' => static fn ($k) => $bare instanceof Memcache ? $bare->set($k, $value, 0, 0) : $bare->set($k, $value),
    'set (bridge)' => static fn ($k) => $pool->set($k, $value),
];
foreach ($keys as $k) {
    $ops['set (bare)']($k);
}

$totals = array_fill_keys(array_keys($ops), 0.0);
$failed = array_fill_keys(array_keys($ops), 0);
for ($slice = 0; $slice < $slices; $slice++) {
    foreach ($ops as $name => $op) {
        $start = hrtime(true);
        for ($i = 0; $i < $perSlice; $i++) {
            if ($op($keys[$i % 1000]) === false) {
                $failed[$name]++;
            }
        }
        $totals[$name] += (hrtime(true) - $start) / 1e3;
    }
}

// The bridge's own work per request without the network: where the key lives (computed for php-memcache, asked of
// php-memcached) and the view check.
$start = hrtime(true);
for ($i = 0; $i < $perSlice; $i++) {
    $pool->serverOf($keys[$i % 1000]);
}
$locate = (hrtime(true) - $start) / 1e3 / $perSlice;
$start = hrtime(true);
for ($i = 0; $i < 200; $i++) {
    $pool->refresh();
}
$refresh = (hrtime(true) - $start) / 1e3 / 200;

printf("%s, %d servers, %d x %d operations each, PHP %s\n", $extension, count(explode(',', $servers)), $slices, $perSlice, PHP_VERSION);
foreach ($totals as $name => $us) {
    printf("%-13s %7.2f us/op\n", $name, $us / ($slices * $perSlice));
}
printf("%-13s %7.2f us/op\n", 'locate only', $locate);
printf("%-13s %7.2f us each (one multi-get per witness, every Bound/4 at most)\n", 'view read', $refresh);
printf("bridge overhead: get %+.2f us/op, set %+.2f us/op; view reads %d (%d with a quorum); misses or failed stores %s\n",
    ($totals['get (bridge)'] - $totals['get (bare)']) / ($slices * $perSlice),
    ($totals['set (bridge)'] - $totals['set (bare)']) / ($slices * $perSlice),
    $pool->counters['view_reads'], $pool->counters['quorum_reads'], json_encode($failed));
