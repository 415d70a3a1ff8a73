<?php
// Drives php/ballast.php for the tests: one JSON request per line on stdin, one JSON answer per line on stdout, so a
// test keeps one long-running PHP frontend (with its in-process view) beside its .NET frontends.
// Requests: {"op": "open", "ext": "memcache"|"memcached", "bare": bool, "options": {...}} then get/set/delete/refresh/
// state/decode/seal/unseal/checkKey. A key may come as "key_b64" (bytes that are not UTF-8). A "bare" frontend is the extension alone with its default failover (the control).
declare(strict_types=1);
error_reporting(E_ALL & ~E_DEPRECATED);   // PECL memcache 4.0.5.2 itself raises a deprecation on PHP 8.2
require $argv[1];

$pool = null;
$bare = null;
while (($line = fgets(STDIN)) !== false) {
    $request = json_decode($line, true, 16, JSON_THROW_ON_ERROR);
    if (isset($request['key_b64'])) {
        $request['key'] = base64_decode($request['key_b64'], true);
    }

    try {
        $result = match ($request['op']) {
            'open' => (function () use ($request, &$pool, &$bare) {
                $client = $request['ext'] === 'memcache' ? new Memcache() : new Memcached();
                if ($request['bare'] ?? false) {
                    ini_set('memcache.hash_strategy', 'consistent');
                    ini_set('memcache.hash_function', 'crc32');
                    foreach (explode(',', $request['options']['servers']) as $server) {
                        [$host, $port] = explode(':', $server);
                        $client->addServer($host, (int) $port, false, 1, 0.3, 1);
                    }
                    $bare = $client;
                    return true;
                }
                $pool = new Ballast\Pool($client, $request['options']);
                return true;
            })(),
            'get' => $bare !== null ? $bare->get($request['key']) : $pool->get($request['key']),
            'set' => $bare !== null ? $bare->set($request['key'], $request['value'], 0, 0) : $pool->set($request['key'], $request['value']),
            'delete' => $bare !== null ? $bare->delete($request['key']) : $pool->delete($request['key']),
            'getForRefill' => (static fn (array $r) => ['value' => $r[0] === false ? null : $r[0], 'lease' => $r[1]])($pool->getForRefill($request['key'])),
            'refill' => $pool->refill($request['key'], $request['value'], $request['lease']),
            'refresh' => $pool->refresh() ?? true,
            'server' => $pool->serverOf($request['key']),
            'state' => [
                'fresh' => $pool->isViewFresh(),
                'entries' => array_map(static fn ($e) => ['epoch' => $e->epoch, 'down' => $e->down, 'writer' => $e->writer, 'lost' => $e->lost],
                    array_map(static fn ($i) => $pool->entry($i), range(0, $request['count'] - 1))),
                'counters' => $pool->counters,
            ],
            'placement' => (static function (array $r) {
                $placed = new Ballast\Pool(in_array($r['options']['distribution'], ['ketama', 'modula'], true) ? new Memcached() : new Memcache(), $r['options']);
                return array_map(static fn ($key) => $placed->serverOf($key), $r['keys']);
            })($request),
            'witnesses' => Ballast\ViewStore::chooseWitnesses($request['names']),
            'seal' => (new Ballast\RecordSeal($request['secret'], $request['pool']))->seal($request['record_key'], base64_decode($request['payload'])),
            'unseal' => (new Ballast\RecordSeal($request['secret'], $request['pool']))->open($request['record_key'], base64_decode($request['value'])),
            'checkKey' => Ballast\Key::brokenRule($request['key'])[0] ?? null,
            'decode' => array_map(static function ($text) {
                $e = Ballast\ViewEntry::decode(base64_decode($text));
                return $e === null ? null : $e->encode();
            }, $request['records']),
        };
        echo json_encode(['ok' => true, 'result' => $result], JSON_INVALID_UTF8_SUBSTITUTE), "\n";
    } catch (Throwable $error) {
        $rule = $error instanceof Ballast\InvalidKeyException ? $error->rule : null;
        echo json_encode(['ok' => false, 'error' => get_class($error) . ': ' . $error->getMessage(), 'rule' => $rule], JSON_INVALID_UTF8_SUBSTITUTE), "\n";
    }
}
