<?php
// One PHP frontend of `ballast chaos --php-frontends N`: the cache-aside workload of the .NET frontends (Workload.cs),
// through the bridge (get-for-refill and a refill under the lease, or a plain get() for a share of reads (get_ratio)
// whose miss reads the database without refilling; delete after the database write) or, with --php-bare,
// through bare php-memcache with its default failover. The database lives in the chaos process: reads and writes of it
// are requests on stdout answered on stdin. Every read and write is reported on stdout as a JSON line, timed on the
// run's clock (CLOCK_MONOTONIC, shared with .NET's Stopwatch on Linux, from the run's start in ns).
declare(strict_types=1);
error_reporting(E_ALL & ~E_DEPRECATED);   // PECL memcache 4.0.5.2 itself raises a deprecation on PHP 8.2
set_error_handler(static function (int $no, string $message): bool {
    fwrite(STDERR, "PHP warning: $message\n");
    return true;
}, E_ALL & ~E_DEPRECATED & ~E_NOTICE);
require $argv[1];

$config = json_decode((string) fgets(STDIN), true, 8, JSON_THROW_ON_ERROR);
$start = (int) $config['start_ns'];
$now = static fn (): float => (hrtime(true) - $start) / 1e6;
$say = static function (array $message): void {
    echo json_encode($message), "\n";
};
$database = static function (string $op, int $key) use ($say): int {
    $say(['t' => 'db', 'op' => $op, 'k' => $key]);
    $answer = fgets(STDIN);
    if ($answer === false) {
        exit(0); // the run is over
    }

    return (int) $answer;
};

$bare = null;
$pool = null;
if ($config['bare']) {
    $bare = new Memcache();
    ini_set('memcache.hash_strategy', 'consistent');
    ini_set('memcache.hash_function', 'crc32');
    foreach (explode(',', $config['servers']) as $server) {
        [$host, $port] = explode(':', $server);
        $bare->addServer($host, (int) $port, false, 1, $config['timeout_ms'] / 1000, $config['retry_interval_s']);
    }
} else {
    $pool = new Ballast\Pool($config['extension'] === 'memcached' ? new Memcached() : new Memcache(), [
        'servers' => $config['servers'], 'distribution' => $config['distribution'], 'hash' => 'crc32',
        'bound_ms' => $config['bound_ms'], 'timeout_ms' => $config['timeout_ms'], 'confirm_timeout_ms' => $config['confirm_timeout_ms'],
    ]);
}

// Zipf over the keys, as ZipfSampler: P(i) proportional to 1/(i+1)^s.
$cumulative = [];
$sum = 0.0;
for ($i = 0; $i < $config['keys']; $i++) {
    $sum += 1.0 / (($i + 1) ** $config['zipf']);
    $cumulative[$i] = $sum;
}
mt_srand($config['seed']);
$random = static fn (): float => mt_rand() / (mt_getrandmax() + 1);
$nextKey = static function () use ($cumulative, $sum, $random): int {
    $u = $random() * $sum;
    $lo = 0;
    $hi = count($cumulative) - 1;
    while ($lo < $hi) {
        $mid = intdiv($lo + $hi, 2);
        if ($cumulative[$mid] < $u) {
            $lo = $mid + 1;
        } else {
            $hi = $mid;
        }
    }

    return $lo;
};
// Values are the version as a JSON string ("v42" with its quotes), as the .NET workload writes them (GetOrCreate stores JSON).
$decode = static fn (mixed $value): ?int => is_string($value) && preg_match('/^"v(\d{1,18})"$/', $value, $m) === 1 ? (int) $m[1] : null;
$encode = static fn (int $version): string => "\"v$version\"";

$say(['t' => 'hello', 'ms' => $now()]);
while ($now() < $config['duration_ms']) {
    $key = $nextKey();
    $name = "chaos:k$key";
    $begin = $now();
    if ($random() < $config['read_ratio']) {
        $hit = false;
        $version = null;
        $path = $bare !== null ? 'bare-get' : 'get-for-refill';
        try {
            if ($bare !== null) {
                $value = $bare->get($name);
                $lease = null;
            } elseif ($random() < $config['get_ratio']) {
                // A plain read, as much PHP code reads: it must miss whatever the .NET frontends marked stale.
                $value = $pool->get($name);
                $lease = null;
                $path = 'get';
            } else {
                [$value, $lease] = $pool->getForRefill($name);
            }

            $version = $decode($value);
            if ($version !== null) {
                $hit = true;
            } else {
                if ($value !== false) {
                    $say(['t' => 'err', 'type' => 'InvalidDataException', 'm' => "Key $name: a value this workload never wrote."]);
                }

                $version = $database('read', $key);
                if ($bare !== null) {
                    $bare->set($name, $encode($version), 0, 0);
                } elseif ($lease !== null) {
                    $pool->refill($name, $encode($version), $lease);
                }
            }
        } catch (Throwable $error) {
            $say(['t' => 'err', 'type' => (new ReflectionClass($error))->getShortName(), 'm' => $error->getMessage()]);
            $version ??= $database('read', $key);
        }

        $say(['t' => 'r', 'k' => $key, 'v' => $version, 's' => $begin, 'e' => $now(), 'h' => $hit, 'p' => $path]);
    } else {
        $version = $database('write', $key);
        $failed = false;
        try {
            $bare !== null ? $bare->delete($name) : $pool->delete($name);
        } catch (Throwable $error) {
            $failed = true;
            $say(['t' => 'err', 'type' => (new ReflectionClass($error))->getShortName(), 'm' => $error->getMessage()]);
        }

        $say(['t' => 'w', 'k' => $key, 'v' => $version, 's' => $begin, 'e' => $now(), 'f' => $failed]);
    }

    usleep($config['think_us']);
}

$say(['t' => 'done']);
