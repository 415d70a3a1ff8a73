<?php
// Ballast's PHP bridge: PHP frontends of a Ballast pool get the same promise as .NET ones (a failed, fenced or unknown
// server's keys are misses, never stale values). Protocol: docs/view-protocol.md. PHP 8.0+, with php-memcache
// (`Memcache`) or php-memcached (`Memcached`). Data goes through the extension; the shared view's records are read
// and written by this file over its own sockets with memcached's classic text protocol (get, gets, cas, add, delete).
declare(strict_types=1);

namespace Ballast;

/** Any error of the bridge: a bad option, a reserved key, an extension it cannot drive. */
class BallastException extends \RuntimeException
{
}

/**
 * An application key that breaks the library's key rules (src/Ballast/Protocol/CacheKey.cs, SharedView/ReservedKeys.cs),
 * refused before anything is sent. `rule` names the first rule broken: empty, length, encoding, control or reserved.
 */
final class InvalidKeyException extends BallastException
{
    public function __construct(public readonly string $key, public readonly string $rule, string $description)
    {
        parent::__construct("Invalid key '" . self::printable($key) . "': $description.");
    }

    /** The key as it may be shown in a message or a log: control bytes, DEL and non-ASCII bytes as \xNN, cut at 80 bytes. */
    public static function printable(string $key): string
    {
        $shown = strlen($key) > 80 ? substr($key, 0, 80) . '...' : $key;
        return (string) preg_replace_callback('/[^\x21-\x7E ]/', static fn (array $m) => sprintf('\\x%02X', ord($m[0])), $shown);
    }
}

/**
 * An application key that passed the library's rules: the only kind of key the bridge puts in a protocol line or hands
 * to an extension. Same rules as the library's (a shared corpus, tests/corpus/keys.json, checks both): 1 to 250 bytes,
 * valid UTF-8 (the library's keys are .NET strings, which cannot hold anything else), no bytes 0x00-0x20 or 0x7F (spaces
 * and control characters, which would split or end a protocol line), and not under `ballast:`, where every pool keeps
 * its view records and locks.
 */
final class Key
{
    public const MAX_LENGTH = 250;
    public const RESERVED_PREFIX = 'ballast:';

    private function __construct(public readonly string $text)
    {
    }

    /** @throws InvalidKeyException the key breaks a rule; the message names the key and the rule */
    public static function of(string $key): self
    {
        $broken = self::brokenRule($key);
        if ($broken !== null) {
            throw new InvalidKeyException($key, $broken[0], $broken[1]);
        }

        return new self($key);
    }

    /**
     * The first rule a key breaks, in the library's order, as [rule, description]; null for a valid key.
     * @return array{string, string}|null
     */
    public static function brokenRule(string $key): ?array
    {
        $length = strlen($key);
        if ($length === 0) {
            return ['empty', 'a key must be at least 1 byte long'];
        }

        if ($length > self::MAX_LENGTH) {
            return ['length', 'a key must be at most ' . self::MAX_LENGTH . " bytes of UTF-8, and this one is $length"];
        }

        if (preg_match('//u', $key) !== 1) {
            return ['encoding', 'a key must be valid UTF-8 (Unicode)'];
        }

        if (preg_match('/[\x00-\x20\x7F]/', $key, $match, PREG_OFFSET_CAPTURE) === 1) {
            return ['control', sprintf('a key must not contain bytes 0x00-0x20 or 0x7F (spaces and control characters), and byte %d is 0x%02X', $match[0][1], ord($match[0][0]))];
        }

        if (str_starts_with($key, self::RESERVED_PREFIX)) {
            return ['reserved', "keys starting with '" . self::RESERVED_PREFIX . "' are reserved for the shared views and locks of Ballast pools"];
        }

        return null;
    }
}

/**
 * A delete could not be confirmed and its server could not be fenced in the shared view (no write quorum of
 * witnesses answered): the old value may still be readable by frontends that have not heard of the failure.
 */
class ServerUnavailableException extends BallastException
{
    public function __construct(string $message, public readonly string $server)
    {
        parent::__construct($message);
    }
}

/**
 * The invalidation of `key` on `server` is owed (the library's InvalidationOwedException): neither confirmed nor fenced,
 * so it was written to the bridge's journal (InvalidationJournal), which every view read of a bridge that shares it
 * retries until the server confirms the delete or the server is fenced. Until then other frontends may read the old value.
 */
final class InvalidationOwedException extends ServerUnavailableException
{
    public function __construct(string $message, string $server, public readonly string $key)
    {
        parent::__construct($message, $server);
    }
}

/** One server's shared-view record (docs/view-protocol.md, "Records"). */
final class ViewEntry
{
    public const MAX_EPOCH = 4503599627370496; // 1 << 52
    public const MAX_WRITER_LENGTH = 32;
    public const MAX_ENCODED_LENGTH = 76;       // 20 + 1 + 1 + 1 + 20 + 1 + 32
    public const LOST_WRITER = 'lost';

    public function __construct(
        public readonly int $epoch,
        public readonly bool $down,
        public readonly int $changedAtMs,
        public readonly string $writer,
        public readonly bool $lost = false,
    ) {
    }

    public static function initial(): self
    {
        return new self(0, false, 0, '-');
    }

    /** A record no read quorum vouches for: down, one past every epoch this frontend has seen. */
    public static function lostAfter(int $highest, int $nowMs): self
    {
        return new self(min($highest + 1, self::MAX_EPOCH), true, $nowMs, self::LOST_WRITER, true);
    }

    public function next(bool $down, int $nowMs, string $writer): self
    {
        return new self(min($this->epoch + 1, self::MAX_EPOCH), $down, $nowMs, $writer);
    }

    public function encode(): string
    {
        return $this->epoch . ' ' . ($this->down ? 'D' : 'U') . ' ' . $this->changedAtMs . ' ' . $this->writer;
    }

    /** Strict parse: `epoch D|U changedAtUnixMs writer`; anything else is no record (and counts as a lost one). */
    public static function decode(string $bytes): ?self
    {
        $length = strlen($bytes);
        if ($length === 0 || $length > self::MAX_ENCODED_LENGTH || preg_match('/[^\x21-\x7E ]/', $bytes) === 1) {
            return null;
        }

        $parts = explode(' ', $bytes);
        if (count($parts) !== 4 || !self::isBoundedNumber($parts[0]) || !self::isBoundedNumber($parts[2])
            || ($parts[1] !== 'D' && $parts[1] !== 'U') || $parts[3] === '' || strlen($parts[3]) > self::MAX_WRITER_LENGTH) {
            return null;
        }

        $epoch = (int) $parts[0];
        if ($epoch < 1 || $epoch > self::MAX_EPOCH) {
            return null;
        }

        return new self($epoch, $parts[1] === 'D', (int) $parts[2], $parts[3]);
    }

    /** Decimal digits, no leading zero, at most Int64.MaxValue (what .NET's long parse accepts there). */
    private static function isBoundedNumber(string $digits): bool
    {
        $n = strlen($digits);
        return $n >= 1 && $n <= 19 && ctype_digit($digits) && ($n === 1 || $digits[0] !== '0')
            && ($n < 19 || strcmp($digits, '9223372036854775807') <= 0);
    }
}

/**
 * The shared view's seal (src/Ballast/SharedView/ViewRecordSeal.cs): with the pool's secret, every record is written as
 * `payload + " " + 64 lowercase hex digits`, the HMAC-SHA256 keyed by the secret of "ballast-view-v1\n" + pool name +
 * "\n" + record key + "\n" + payload; a record whose MAC fails is no record (so its server counts as lost: fail
 * closed). Without a secret, records are read and written as they are.
 */
final class RecordSeal
{
    public const MIN_SECRET_LENGTH = 16;
    private const HEX_LENGTH = 64;

    public function __construct(private readonly ?string $secret, private readonly string $poolName)
    {
        if ($secret !== null && strlen($secret) < self::MIN_SECRET_LENGTH) {
            throw new BallastException('The shared view\'s secret must be at least ' . self::MIN_SECRET_LENGTH . ' bytes long; it has ' . strlen($secret) . '.');
        }
    }

    /** The value to store under $key for $payload. */
    public function seal(string $key, string $payload): string
    {
        return $this->secret === null ? $payload : $payload . ' ' . $this->mac($key, $payload);
    }

    /** The payload of a value read under $key; null when its MAC fails (it must be treated as no value). */
    public function open(string $key, string $value): ?string
    {
        if ($this->secret === null) {
            return $value;
        }

        $length = strlen($value);
        if ($length < self::HEX_LENGTH + 1 || $value[$length - self::HEX_LENGTH - 1] !== ' ') {
            return null;
        }

        $payload = substr($value, 0, $length - self::HEX_LENGTH - 1);
        return hash_equals($this->mac($key, $payload), substr($value, $length - self::HEX_LENGTH)) ? $payload : null;
    }

    /** A record read under $key, or null (no record, or its MAC fails). */
    public function decode(string $key, string $value): ?ViewEntry
    {
        $payload = $this->open($key, $value);
        return $payload === null ? null : ViewEntry::decode($payload);
    }

    private function mac(string $key, string $payload): string
    {
        return hash_hmac('sha256', "ballast-view-v1\n{$this->poolName}\n$key\n$payload", $this->secret);
    }
}

/**
 * One connection of the bridge's own to a server, for view records and for confirming deletes. Non-blocking, so that
 * several witnesses are asked at once; a request that does not complete closes it (a late answer is never taken for
 * another request's).
 */
final class WireConnection
{
    /** @var resource|null */
    private $socket = null;
    private string $buffer = '';

    public function __construct(public readonly string $host, public readonly int $port, private readonly float $connectTimeout)
    {
    }

    public function name(): string
    {
        return str_contains($this->host, ':') ? "[{$this->host}]:{$this->port}" : "{$this->host}:{$this->port}";
    }

    /** @return resource|null */
    public function socket()
    {
        return $this->socket;
    }

    /** Sends a request (connecting first if need be); false when the server cannot be reached. */
    public function send(string $bytes, float $deadline): bool
    {
        if ($this->socket === null) {
            $socket = @stream_socket_client('tcp://' . $this->name(), $errno, $error, $this->connectTimeout);
            if ($socket === false) {
                return false;
            }

            stream_set_blocking($socket, false);
            $this->socket = $socket;
            $this->buffer = '';
        }

        while ($bytes !== '') {
            $written = @fwrite($this->socket, $bytes);
            if ($written === false) {
                $this->close();
                return false;
            }

            $bytes = (string) substr($bytes, $written);
            if ($bytes !== '') {
                $read = null;
                $write = [$this->socket];
                $except = null;
                $left = $deadline - microtime(true);
                if ($left <= 0 || @stream_select($read, $write, $except, 0, (int) ($left * 1e6)) < 1) {
                    $this->close();
                    return false;
                }
            }
        }

        return true;
    }

    /** Takes in what the socket has; false when it closed. */
    public function receive(): bool
    {
        $chunk = @fread($this->socket, 65536);
        if ($chunk === false || ($chunk === '' && feof($this->socket))) {
            $this->close();
            return false;
        }

        $this->buffer .= $chunk;
        if (strlen($this->buffer) > 1 << 20) {
            $this->close(); // No view answer is this long: not a memcached we can trust.
            return false;
        }

        return true;
    }

    /**
     * The answer to a `get`/`gets` if complete: key => [value, cas]; false for an error answer; null if incomplete.
     * @return array<string, array{string, int}>|false|null
     */
    public function takeValues(): array|false|null
    {
        $values = [];
        $at = 0;
        while (true) {
            $end = strpos($this->buffer, "\r\n", $at);
            if ($end === false) {
                return null;
            }

            $line = substr($this->buffer, $at, $end - $at);
            if ($line === 'END') {
                $this->buffer = (string) substr($this->buffer, $end + 2);
                return $values;
            }

            $parts = explode(' ', $line);
            if ($parts[0] !== 'VALUE' || count($parts) < 4 || !ctype_digit($parts[3])) {
                $this->close();
                return false;
            }

            $length = (int) $parts[3];
            if (strlen($this->buffer) < $end + 2 + $length + 2) {
                return null;
            }

            $values[$parts[1]] = [substr($this->buffer, $end + 2, $length), isset($parts[4]) ? (int) $parts[4] : 0];
            $at = $end + 2 + $length + 2;
        }
    }

    /**
     * A meta answer if complete: [code, flags, value] (`VA <len> <flags>` with its value, or `HD`/`EN`/`NF`/`EX`/`NS`
     * with flags); false for an error answer; null if incomplete.
     * @return array{string, string[], ?string}|false|null
     */
    public function takeMeta(): array|false|null
    {
        $end = strpos($this->buffer, "\r\n");
        if ($end === false) {
            return null;
        }

        $parts = explode(' ', substr($this->buffer, 0, $end));
        $value = null;
        $consumed = $end + 2;
        if ($parts[0] === 'VA') {
            if (!isset($parts[1]) || !ctype_digit($parts[1])) {
                $this->close();
                return false;
            }

            $length = (int) $parts[1];
            if (strlen($this->buffer) < $consumed + $length + 2) {
                return null;
            }

            $value = substr($this->buffer, $consumed, $length);
            $consumed += $length + 2;
            array_splice($parts, 1, 1);
        } elseif (!in_array($parts[0], ['HD', 'EN', 'NF', 'EX', 'NS'], true)) {
            $this->close();
            return false;
        }

        $this->buffer = (string) substr($this->buffer, $consumed);
        return [$parts[0], array_slice($parts, 1), $value];
    }

    /** A one-line answer (STORED, EXISTS, DELETED, ...) if complete; null if incomplete. */
    public function takeLine(): ?string
    {
        $end = strpos($this->buffer, "\r\n");
        if ($end === false) {
            return null;
        }

        $line = substr($this->buffer, 0, $end);
        $this->buffer = (string) substr($this->buffer, $end + 2);
        return $line;
    }

    public function close(): void
    {
        if ($this->socket !== null) {
            @fclose($this->socket);
        }

        $this->socket = null;
        $this->buffer = '';
    }
}

/**
 * Requests to several servers at once, waited for the way the library's quorum operations are: until all have
 * answered, or a quorum has and a short grace has passed for the rest, or the deadline. A server that did not answer
 * in time has its connection closed.
 */
final class Exchange
{
    /**
     * @param array<int, array{WireConnection, string, string}> $requests index => [connection, bytes, 'values'|'meta'|'line']
     * @param callable(mixed): bool $succeeded what counts toward the quorum
     * @return array<int, mixed> index => answer (null: no answer)
     */
    public static function run(array $requests, callable $succeeded, int $quorum, float $grace, float $timeout): array
    {
        $deadline = microtime(true) + $timeout;
        $answers = [];
        $pending = [];
        foreach ($requests as $i => [$connection, $bytes, $kind]) {
            $answers[$i] = null;
            if ($connection->send($bytes, $deadline)) {
                $pending[$i] = [$connection, $kind];
            }
        }

        $successes = 0;
        $quorumAt = null;
        while ($pending !== []) {
            $now = microtime(true);
            $until = $quorumAt !== null ? min($deadline, $quorumAt + $grace) : $deadline;
            if ($now >= $until) {
                break;
            }

            $read = [];
            foreach ($pending as [$connection]) {
                $read[] = $connection->socket();
            }

            $write = null;
            $except = null;
            $wait = $until - $now;
            if (@stream_select($read, $write, $except, (int) $wait, (int) (fmod($wait, 1.0) * 1e6)) === false) {
                break;
            }

            foreach ($pending as $i => [$connection, $kind]) {
                if (!in_array($connection->socket(), $read, true)) {
                    continue;
                }

                if (!$connection->receive()) {
                    unset($pending[$i]);
                    continue;
                }

                $answer = match ($kind) {
                    'values' => $connection->takeValues(),
                    'meta' => $connection->takeMeta(),
                    default => $connection->takeLine(),
                };
                if ($answer === null) {
                    continue;
                }

                unset($pending[$i]);
                if ($answer === false) {
                    continue;
                }

                $answers[$i] = $answer;
                if ($succeeded($answer) && ++$successes >= $quorum && $quorumAt === null) {
                    $quorumAt = microtime(true);
                }
            }
        }

        foreach ($pending as [$connection]) {
            $connection->close();
        }

        return $answers;
    }
}

/** Where keys live: the extension's placement, reproduced (php-memcache) or asked (php-memcached's getServerByKey). */
final class Locator
{
    private const POINTS_PER_WEIGHT = 160;
    private const BUCKETS = 1024;

    /** @var int[] bucket => server index (pecl-consistent, pecl-standard) */
    private array $buckets = [];

    /** @var array<string, int> "host:port" => index (php-memcached) */
    private array $byName = [];

    /** @param array<int, array{string, int, int}> $servers */
    public function __construct(private readonly string $distribution, private readonly string $hash, private readonly array $servers, private readonly ?\Memcached $memcached)
    {
        foreach ($servers as $i => [$host, $port]) {
            $this->byName["$host:$port"] = $i;
        }

        if ($distribution === 'pecl-consistent') {
            $this->buildConsistent();
        } elseif ($distribution === 'pecl-standard') {
            foreach ($servers as $i => [, , $weight]) {
                for ($w = 0; $w < $weight; $w++) {
                    $this->buckets[] = $i;
                }
            }
        }
    }

    public function locate(string $key): int
    {
        if (count($this->servers) === 1) {
            return 0;
        }

        switch ($this->distribution) {
            case 'pecl-consistent':
                return $this->buckets[$this->hashOf($key) % self::BUCKETS];
            case 'pecl-standard':
                $h = ($this->hashOf($key) >> 16) & 0x7FFF;
                return $this->buckets[($h !== 0 ? $h : 1) % count($this->buckets)];
            default:
                $server = $this->memcached->getServerByKey($key);
                if (!is_array($server) || !isset($this->byName[$server['host'] . ':' . $server['port']])) {
                    throw new BallastException("Key '$key': php-memcached placed it on no server of the pool's list.");
                }

                return $this->byName[$server['host'] . ':' . $server['port']];
        }
    }

    /** php-memcache's memcache.hash_function over all 32 bits: crc32, or FNV-1a with x86-64's signed char. */
    private function hashOf(string $data): int
    {
        return $this->hash === 'crc32' ? crc32($data) : self::fnv(0x811C9DC5, $data);
    }

    private static function fnv(int $state, string $data): int
    {
        $length = strlen($data);
        for ($i = 0; $i < $length; $i++) {
            $byte = ord($data[$i]);
            $state ^= $byte >= 0x80 ? ($byte | 0xFFFFFF00) : $byte;
            $state = ($state * 0x01000193) & 0xFFFFFFFF;
        }

        return $state;
    }

    /** memcache_consistent_hash.c: weight*160 points "host:port-i", sampled into 1024 buckets (mmc_consistent_find). */
    private function buildConsistent(): void
    {
        $points = [];
        foreach ($this->servers as $index => [$host, $port, $weight]) {
            for ($i = 0; $i < $weight * self::POINTS_PER_WEIGHT; $i++) {
                $points[] = [$this->hashOf("$host:$port-$i"), count($points), $index];
            }
        }

        usort($points, static fn ($a, $b) => $a[0] <=> $b[0] ?: $a[1] <=> $b[1]);
        $values = array_column($points, 0);
        $step = intdiv(0xFFFFFFFF, self::BUCKETS);
        for ($b = 0; $b < self::BUCKETS; $b++) {
            $this->buckets[$b] = $points[self::find($values, $step * $b)][2];
        }
    }

    /** @param int[] $points */
    private static function find(array $points, int $point): int
    {
        $lo = 0;
        $hi = count($points) - 1;
        while (true) {
            if ($point <= $points[$lo] || $point > $points[$hi]) {
                return $lo;
            }

            $mid = $lo + intdiv($hi - $lo, 2);
            if ($point <= $points[$mid] && $point > ($mid !== 0 ? $points[$mid - 1] : 0)) {
                return $mid;
            }

            if ($points[$mid] < $point) {
                $lo = $mid + 1;
            } else {
                $hi = $mid - 1;
            }
        }
    }
}

/**
 * The memcached-hosted shared view as the library keeps it (MemcachedViewStore): one record per server on each of
 * 3 (or 5) witness servers, quorum reads judged against the epochs this process has seen, and compare-and-swap fences.
 */
final class ViewStore
{
    /** @var int[] indexes of the witness servers, in server order */
    public readonly array $witnesses;
    public readonly int $readQuorum;
    public readonly int $writeQuorum;

    /** @var string[] record key per server index */
    private array $keys = [];

    /** @var int[] highest epoch seen per server (the epoch watermark) */
    private array $highest = [];

    /**
     * @param string[] $names "host:port" per server, as the library writes them
     * @param WireConnection[] $connections one per server
     */
    public function __construct(array $names, string $poolName, private readonly array $connections, private readonly float $grace, private readonly float $timeout, private readonly RecordSeal $seal)
    {
        $this->witnesses = self::chooseWitnesses($names);
        $this->readQuorum = intdiv(count($this->witnesses), 2) + 1;
        $this->writeQuorum = $this->readQuorum;
        foreach ($names as $i => $name) {
            $this->keys[$i] = "ballast:$poolName:view:$i";
            $this->highest[$i] = 0;
        }
    }

    /**
     * Every server of pools up to three; else 3 (5 from 8 servers on): those whose SHA-256 of "host:port" sorts first.
     * @param string[] $names
     * @return int[]
     */
    public static function chooseWitnesses(array $names): array
    {
        $n = count($names);
        $count = $n <= 3 ? $n : ($n < 8 ? 3 : 5);
        $order = array_keys($names);
        usort($order, static fn ($a, $b) => strcmp(hash('sha256', $names[$a]), hash('sha256', $names[$b])));
        $chosen = array_slice($order, 0, $count);
        sort($chosen);
        return $chosen;
    }

    public function key(int $index): string
    {
        return $this->keys[$index];
    }

    /**
     * Reads every record from every witness at once. Returns [entries, responded, isQuorum, hasGutter]; records no read
     * quorum vouches for, or older than seen, come back lost (down). hasGutter: a witness holds a record for the server
     * after the main ones, which only a pool with the Gutter policy writes.
     * @return array{ViewEntry[], int, bool, bool}
     */
    public function read(int $nowMs): array
    {
        $seen = $this->highest;
        $gutterKey = preg_replace('/:\d+$/', ':' . count($this->keys), $this->keys[0]);
        $request = 'get ' . implode(' ', $this->keys) . " $gutterKey\r\n";
        $requests = [];
        foreach ($this->witnesses as $w) {
            $requests[$w] = [$this->connections[$w], $request, 'values'];
        }

        $answers = Exchange::run($requests, static fn ($a) => true, $this->readQuorum, $this->grace, $this->timeout);
        $responded = count(array_filter($answers, static fn ($a) => $a !== null));
        $isQuorum = $responded >= $this->readQuorum;
        $hasGutter = false;
        foreach ($answers as $answer) {
            $hasGutter = $hasGutter || ($answer !== null && isset($answer[$gutterKey]) && $this->seal->decode($gutterKey, $answer[$gutterKey][0]) !== null);
        }

        $entries = [];
        foreach ($this->keys as $i => $key) {
            $merged = null;
            $holders = 0;
            foreach ($answers as $answer) {
                if ($answer !== null && isset($answer[$key]) && ($copy = $this->seal->decode($key, $answer[$key][0])) !== null) {
                    $holders++;
                    if ($merged === null || $copy->epoch > $merged->epoch) {
                        $merged = $copy;
                    }
                }
            }

            if (!$isQuorum) {
                // Too few answers to vouch for anything; a "down" record is safe to take from any one copy.
                $entries[$i] = $merged !== null && $merged->down && $merged->epoch >= $seen[$i] ? $merged : ViewEntry::initial();
            } elseif ($merged === null || $merged->epoch < $seen[$i] || (!$merged->down && $holders < $this->readQuorum)) {
                $entries[$i] = ViewEntry::lostAfter(max($seen[$i], $merged?->epoch ?? 0), $nowMs);
                continue;
            } else {
                $entries[$i] = $merged;
            }

            $this->raise($i, $entries[$i]->epoch);
        }

        return [$entries, $responded, $isQuorum, $hasGutter];
    }

    /**
     * Publishes a fence on every witness by compare-and-swap (docs/view-protocol.md, "Fencing"). Returns [holding,
     * contradiction]: how many witnesses now hold a "down" record, and the newest "up" record at or past the proposed
     * epoch, if one overrules it.
     * @return array{int, ?ViewEntry}
     */
    public function fence(int $index, ViewEntry $proposed): array
    {
        $key = $this->keys[$index];
        $gets = [];
        foreach ($this->witnesses as $w) {
            $gets[$w] = [$this->connections[$w], "gets $key\r\n", 'values'];
        }

        $contradiction = null;
        $holding = 0;
        $swaps = [];
        foreach (Exchange::run($gets, static fn ($a) => true, $this->writeQuorum, $this->grace, $this->timeout) as $w => $answer) {
            if ($answer === null) {
                continue;
            }

            $target = new ViewEntry($proposed->epoch, true, $proposed->changedAtMs, $proposed->writer);
            $existing = isset($answer[$key]) ? $this->seal->decode($key, $answer[$key][0]) : null;
            if ($existing !== null && !$existing->down && $existing->epoch >= $proposed->epoch) {
                $contradiction = self::newer($contradiction, $existing);
                continue;
            }

            if ($existing !== null && $existing->down && $existing->epoch >= $proposed->epoch) {
                // Already down at this epoch or later: touch it (same epoch, new CAS) so a failback that read it
                // before this fence cannot readmit the server without flushing it again.
                $target = new ViewEntry($existing->epoch, true, $proposed->changedAtMs, $proposed->writer);
            }

            $swaps[$w] = [$this->connections[$w], self::swapRequest($key, $this->seal->seal($key, $target->encode()), isset($answer[$key]) ? $answer[$key][1] : 0), 'line'];
        }

        $recheck = [];
        foreach (Exchange::run($swaps, static fn ($a) => $a === 'STORED', $this->writeQuorum, $this->grace, $this->timeout) as $w => $answer) {
            if ($answer === 'STORED') {
                $holding++;
            } elseif ($answer !== null) {
                $recheck[$w] = [$this->connections[$w], "get $key\r\n", 'values'];
            }
        }

        // Changed since it was read, so after this fence began: a "down" record there fences as well as this would.
        foreach (Exchange::run($recheck, static fn ($a) => true, count($recheck), $this->grace, $this->timeout) as $answer) {
            $now = $answer !== null && isset($answer[$key]) ? $this->seal->decode($key, $answer[$key][0]) : null;
            if ($now !== null && $now->down) {
                $holding++;
            } elseif ($now !== null && $now->epoch >= $proposed->epoch) {
                $contradiction = self::newer($contradiction, $now);
            }
        }

        if ($holding >= $this->writeQuorum) {
            $this->raise($index, $proposed->epoch);
        }

        return [$holding, $contradiction];
    }

    /** `cas` against the CAS read, or `add` where no record was (CAS 0): no writer overwrites another's change unseen. */
    private static function swapRequest(string $key, string $value, int $cas): string
    {
        $length = strlen($value);
        return ($cas === 0 ? "add $key 0 0 $length" : "cas $key 0 0 $length $cas") . "\r\n$value\r\n";
    }

    private static function newer(?ViewEntry $a, ViewEntry $b): ViewEntry
    {
        return $a === null || $b->epoch > $a->epoch ? $b : $a;
    }

    private function raise(int $index, int $epoch): void
    {
        if ($epoch > $this->highest[$index]) {
            $this->highest[$index] = $epoch;
        }
    }
}

/**
 * The invalidations PHP frontends owe (src/Ballast/Invalidation/InvalidationJournal.cs, for PHP): a delete that could
 * be neither confirmed nor fenced is written here, and every view read of every bridge that shares the journal retries
 * it (Pool::retryOwed) until its server confirms the delete or the server is fenced; meanwhile those bridges read
 * nothing from that server. PHP frontends rarely outlive a request (php-fpm), so a journal that is to outlive the
 * process that owes the delete is a file (option `journal_path`), shared by every PHP process of the pool on the host;
 * without one it is kept in the Pool object and dies with it.
 *
 * The file is an append-only log: a header (`#ballast-php-journal 1 <pool>`, tab-separated), then `+ id server key` when
 * an invalidation becomes owed and `- id` when it is settled (confirmed, or its server fenced after it failed). Ids are
 * random, so two processes that retry the same key each settle only what they read. Writers take an exclusive lock on
 * `<path>.lock`; readers read without it and skip an unfinished last line. The log is cut back to its header once
 * nothing is owed, and rewritten (a new file renamed over it) when settled lines far outnumber owed ones. Like the
 * library's journal it holds keys and server names and decides which servers PHP reads: it is created readable by its
 * owner only, a symlink is refused, and a journal of another pool is refused.
 */
final class InvalidationJournal
{
    private const HEADER_TAG = '#ballast-php-journal';
    private const FORMAT_VERSION = '1';
    private const COMPACT_AFTER_DEAD_LINES = 1024;

    private readonly string $header;

    /** @var array<string, array{string, string}> id => [server, key]: the journal when it is kept in memory */
    private array $memory = [];

    public function __construct(private readonly ?string $path, private readonly string $poolName)
    {
        $this->header = self::HEADER_TAG . "\t" . self::FORMAT_VERSION . "\t$poolName\n";
        if ($path === null) {
            return;
        }

        $this->locked(function () use ($path): void {
            if (is_link($path)) {
                throw new BallastException("Option 'journal_path': '$path' is a symbolic link; the journal decides which servers PHP reads, so it must be a file of its own.");
            }

            if (!file_exists($path)) {
                $this->rewrite([]);
                return;
            }

            $first = (string) @file_get_contents($path, false, null, 0, 256);
            $header = explode("\t", rtrim(explode("\n", $first, 2)[0], "\r"));
            if ($header[0] !== self::HEADER_TAG || count($header) !== 3 || $header[1] !== self::FORMAT_VERSION) {
                throw new BallastException("Option 'journal_path': '$path' is not a PHP bridge journal this version can read; give the bridge a file of its own.");
            }

            if ($header[2] !== $this->poolName) {
                throw new BallastException("Option 'journal_path': '$path' belongs to pool '" . InvalidKeyException::printable($header[2]) . "', not to this pool '{$this->poolName}': its owed deletes are that pool's. Give each pool its own journal.");
            }

            if (fileowner($path) === getmyuid()) {
                @chmod($path, 0600);
            }
        });
    }

    public function isPersistent(): bool
    {
        return $this->path !== null;
    }

    /** Owes the delete of $key on $server; returns the entry's id. */
    public function add(string $server, Key $key): string
    {
        $id = bin2hex(random_bytes(8));
        if ($this->path === null) {
            $this->memory[$id] = [$server, $key->text];
            return $id;
        }

        $this->locked(fn () => $this->append("+\t$id\t$server\t{$key->text}\n"));
        return $id;
    }

    /** @param string[] $ids entries confirmed, or whose server was fenced after they failed */
    public function settle(array $ids): void
    {
        if ($ids === []) {
            return;
        }

        if ($this->path === null) {
            foreach ($ids as $id) {
                unset($this->memory[$id]);
            }

            return;
        }

        $this->locked(function () use ($ids): void {
            [$owed, $lines] = $this->load();
            foreach ($ids as $id) {
                unset($owed[$id]);
            }

            if ($owed === [] || $lines > self::COMPACT_AFTER_DEAD_LINES && $lines > 4 * count($owed)) {
                $this->rewrite($owed);
                return;
            }

            $this->append(implode('', array_map(static fn ($id) => "-\t$id\n", $ids)));
        });
    }

    /**
     * What is owed now: id => [server, key].
     * @return array<string, array{string, string}>
     */
    public function owed(): array
    {
        return $this->path === null ? $this->memory : $this->load()[0];
    }

    /**
     * Replays the log: [owed entries, lines read]. A line that is not an entry this journal wrote (an unfinished last
     * line, damage, a key that breaks the key rules) is skipped.
     * @return array{array<string, array{string, string}>, int}
     */
    private function load(): array
    {
        clearstatcache(true, $this->path);
        if (!file_exists($this->path)) {
            return [[], 0]; // removed (a cleaner of temporary files): nothing is known to be owed; the next entry recreates it
        }

        $text = @file_get_contents($this->path);
        if ($text === false) {
            throw new BallastException("Cannot read the invalidation journal '{$this->path}'.");
        }

        $owed = [];
        $lines = explode("\n", $text);
        array_pop($lines); // the unfinished line after the last newline (empty when the log is whole)
        foreach (array_slice($lines, str_starts_with($text, self::HEADER_TAG . "\t") ? 1 : 0) as $line) {
            $parts = explode("\t", $line);
            if (count($parts) === 4 && $parts[0] === '+' && ctype_xdigit($parts[1]) && Key::brokenRule($parts[3]) === null) {
                $owed[$parts[1]] = [$parts[2], $parts[3]];
            } elseif (count($parts) === 2 && $parts[0] === '-') {
                unset($owed[$parts[1]]);
            }
        }

        return [$owed, count($lines)];
    }

    private function append(string $lines): void
    {
        clearstatcache(true, $this->path);
        if (!file_exists($this->path)) {
            $this->rewrite([]);
        }

        if (@file_put_contents($this->path, $lines, FILE_APPEND) !== strlen($lines)) {
            throw new BallastException("Cannot write the invalidation journal '{$this->path}': an owed delete could not be recorded, so no bridge will retry it.");
        }
    }

    /**
     * Writes the header and $owed to a new file (created with O_EXCL, so never through a symlink left there; readable
     * by its owner only) and renames it over the log, so a crash leaves one or the other.
     * @param array<string, array{string, string}> $owed
     */
    private function rewrite(array $owed): void
    {
        $temporary = $this->path . '.' . bin2hex(random_bytes(4)) . '.tmp';
        $mask = umask(0077);
        try {
            $file = @fopen($temporary, 'x');
        } finally {
            umask($mask);
        }

        $text = $this->header;
        foreach ($owed as $id => [$server, $key]) {
            $text .= "+\t$id\t$server\t$key\n";
        }

        if ($file === false || fwrite($file, $text) !== strlen($text) || !fclose($file) || !@rename($temporary, $this->path)) {
            @unlink($temporary);
            throw new BallastException("Cannot write the invalidation journal '{$this->path}' (through '$temporary').");
        }
    }

    /** Runs $work holding the exclusive lock on `<path>.lock`, which every writer takes. */
    private function locked(callable $work): mixed
    {
        $mask = umask(0077);
        try {
            $lock = @fopen($this->path . '.lock', 'c');
        } finally {
            umask($mask);
        }

        if ($lock === false || !flock($lock, LOCK_EX)) {
            throw new BallastException("Cannot lock the invalidation journal '{$this->path}.lock'.");
        }

        try {
            return $work();
        } finally {
            flock($lock, LOCK_UN);
            fclose($lock);
        }
    }
}

/**
 * A Ballast pool for a PHP frontend: get, set and delete through the given extension (and refill leases over the
 * bridge's own connections), with the shared view's rules. For pools whose .NET frontends use the Offline policy (the
 * default); a gutter pool makes every operation throw. Failback and the recovery of lost records are left to the .NET
 * frontends (or `ballast monitor`): without them a fenced or lost server stays a miss. One instance per process and
 * pool; not for concurrent use (PHP has none).
 *
 * Options (docs/view-protocol.md, "The PHP bridge"):
 * - servers: "host:port[:weight],..." in the order every frontend lists them (required)
 * - distribution: "pecl-consistent" (default) or "pecl-standard" with Memcache; "ketama" or "modula" with Memcached
 * - hash: "crc32" (default) or "fnv" (php-memcache's memcache.hash_function)
 * - bound_ms: the view's bound B, as the .NET frontends' SharedView.Bound (default 1000; 100 to 60000)
 * - pool_name: as SharedView.PoolName (default: derived from the server list, as the library derives it)
 * - timeout_ms: connect and answer timeout of the extension and of the bridge's own requests (default 1000, as the library's OperationTimeout)
 * - confirm_timeout_ms: how long an unconfirmed delete is retried before its server is fenced (default 300)
 * - secret / secret_file: the pool's secret (SharedView.Secret), or a file whose first line is it: records are then
 *   sealed and checked (RecordSeal). Default none. Give every frontend the same one: a record sealed with another
 *   secret (or none) is no record, so its server counts as lost.
 * - journal_path: a file where the deletes this pool's PHP processes on this host owe (neither confirmed nor fenced)
 *   are kept and retried by every view read of every one of them (InvalidationJournal). Default none: the journal is
 *   kept in the Pool object, so what it owes is retried only while it lives (one request under php-fpm: set it there).
 */
final class Pool
{
    /** How long a refill lease (memcached's vivified placeholder) lives, as the library's. */
    private const LEASE_SECONDS = 10;

    /** Most owed deletes retried by one view read (the library's JournalRetrier sends 64 per round). */
    private const MAX_RETRIES_PER_READ = 64;

    private const DISTRIBUTIONS = ['pecl-consistent' => 'Memcache', 'pecl-standard' => 'Memcache', 'ketama' => 'Memcached', 'modula' => 'Memcached'];

    /** @var array<int, array{string, int, int}> host, port, weight */
    private array $servers = [];

    /** @var string[] "host:port" per server */
    private array $names = [];

    /** @var WireConnection[] */
    private array $connections = [];

    private ViewStore $store;
    private Locator $locator;
    private string $frontendId;
    private int $boundNs;
    private int $refreshNs;
    private float $timeout;
    private float $confirmTimeout;

    /** @var ViewEntry[] this process's copy of the view */
    private array $entries = [];

    /** @var int[] per server: readable here only once the view shows it up past this epoch (its own fences) */
    private array $downUntilEpochAbove = [];

    /** Deletes owed (neither confirmed nor fenced), retried at each view read (retryOwed). */
    private InvalidationJournal $journal;

    /** @var array<int, true> servers with owed deletes at the last view read: not read here until they are settled */
    private array $owedServers = [];

    private ?int $lastReadNs = null;
    private ?int $leaseStartNs = null;

    /** @var array<string, int> what the bridge did, for diagnostics and tests */
    public array $counters = ['view_reads' => 0, 'quorum_reads' => 0, 'fenced_misses' => 0, 'lease_misses' => 0, 'fences_published' => 0, 'fences_owed' => 0, 'deletes_confirmed' => 0,
        'invalidations_owed' => 0, 'owed_confirmed' => 0, 'owed_fenced' => 0, 'owed_misses' => 0];

    public function __construct(private readonly \Memcache|\Memcached $client, array $options)
    {
        $this->parseServers((string) ($options['servers'] ?? throw new BallastException("Option 'servers' is required: 'host:port[:weight],...'.")));
        $distribution = (string) ($options['distribution'] ?? 'pecl-consistent');
        $hash = (string) ($options['hash'] ?? 'crc32');
        $extension = self::DISTRIBUTIONS[$distribution] ?? throw new BallastException("Option 'distribution' is '$distribution'; expected pecl-consistent or pecl-standard (Memcache), ketama or modula (Memcached).");
        if (!$client instanceof $extension) {
            throw new BallastException("Option 'distribution' is '$distribution', which is " . ($extension === 'Memcache' ? 'php-memcache' : 'php-memcached') . "'s ($extension), but the client is a " . get_class($client) . '.');
        }

        if ($hash !== 'crc32' && $hash !== 'fnv') {
            throw new BallastException("Option 'hash' is '$hash'; expected crc32 or fnv.");
        }

        $boundMs = self::intOption($options, 'bound_ms', 1000, 100, 60000);
        $this->boundNs = $boundMs * 1000000;
        $this->refreshNs = intdiv($this->boundNs, 4);
        $this->timeout = self::intOption($options, 'timeout_ms', 1000, 10, 60000) / 1000;
        $this->confirmTimeout = self::intOption($options, 'confirm_timeout_ms', 300, 0, 60000) / 1000;
        $poolName = $options['pool_name'] ?? substr(hash('sha256', implode(',', $this->names)), 0, 12);
        if (!is_string($poolName) || preg_match('/^[\x21-\x7E]{1,64}$/', $poolName) !== 1) {
            throw new BallastException("Option 'pool_name' must be 1 to 64 printable ASCII characters with no spaces.");
        }

        $this->frontendId = bin2hex(random_bytes(4));
        foreach ($this->servers as $i => [$host, $port]) {
            $this->connections[$i] = new WireConnection($host, $port, $this->timeout);
            $this->entries[$i] = ViewEntry::initial();
            $this->downUntilEpochAbove[$i] = 0;
        }

        $this->store = new ViewStore($this->names, $poolName, $this->connections, $this->refreshNs / 2e9, $this->timeout, new RecordSeal(self::secretOption($options), $poolName));
        $journalPath = $options['journal_path'] ?? null;
        if ($journalPath !== null && (!is_string($journalPath) || $journalPath === '')) {
            throw new BallastException("Option 'journal_path' must be a file's path.");
        }

        $this->journal = new InvalidationJournal($journalPath, $poolName);
        $this->configureClient($distribution, $hash);
        $this->locator = new Locator($distribution, $hash, $this->servers, $client instanceof \Memcached ? $client : null);
    }

    /**
     * The value, or false on a miss (also when the key's server is fenced, lost or unknown, or the view is stale, and
     * when the value is one the library marked stale or a refill lease's placeholder). The extensions' get cannot see
     * memcached's stale and lease flags, so a hit is checked once more over the bridge's own connection (`mg <key> c`):
     * served only if the item still has the CAS the extension read and carries none of X (marked stale), W (a refill
     * token, which this read just took) or Z (a refill under way elsewhere). A token this read took is given back.
     * @throws InvalidKeyException the key breaks the library's key rules (nothing is sent)
     */
    public function get(string $key): mixed
    {
        $key = Key::of($key);
        $index = $this->locate($key);
        if (!$this->isReadable($index)) {
            return false;
        }

        [$value, $cas] = $this->extensionGet($key);

        // An empty value is the placeholder of memcached's vivify-on-miss (the .NET frontends' refill lease), not data.
        if ($value === false || $value === '' || $cas === 0) {
            return false;
        }

        return $this->isServable($index, $key, $cas) ? $value : false;
    }

    /**
     * Stores through the extension. False when the key's server is not readable (nothing is sent) or the store
     * failed; a failed store's fate is unknown, so the key is then deleted, confirmed or fenced, as the library does.
     * @throws InvalidationOwedException the store failed and its delete could be neither confirmed nor fenced (it is owed: journaled and retried)
     */
    public function set(string $key, mixed $value, int $ttl = 0): bool
    {
        $key = Key::of($key);
        $index = $this->locate($key);
        if (!$this->isReadable($index, forStore: true)) {
            return false;
        }

        $stored = $this->client instanceof \Memcache ? $this->client->set($key->text, $value, 0, $ttl) : $this->client->set($key->text, $value, $ttl);
        if (!$stored) {
            $this->invalidate($key, $index);
        }

        return $stored;
    }

    /**
     * Cache-aside read without the classic refill race, as the library's GetForRefillAsync: memcached's vivify-on-miss
     * (`mg <key> v c N10`, over the bridge's own connection: the extensions cannot send meta commands). Returns
     * [value, lease]: a hit has a value and no lease; a miss whose refill falls to this caller has a lease (the
     * placeholder's CAS) for refill(); other misses (someone else refills, a stale mark, the server fenced or
     * unreachable) have neither. A delete between this read and the refill voids the lease.
     * @return array{mixed, ?int}
     * @throws InvalidKeyException the key breaks the library's key rules (nothing is sent)
     */
    public function getForRefill(string $key): array
    {
        $key = Key::of($key);
        $index = $this->locate($key);
        if (!$this->isReadable($index)) {
            return [false, null];
        }

        $answer = $this->request($index, "mg {$key->text} v c N" . self::LEASE_SECONDS . "\r\n", 'meta');
        if (!is_array($answer) || $answer[0] !== 'VA') {
            return [false, null];
        }

        [, $flags, $value] = $answer;
        [$cas, $servable] = self::servableFlags($flags);
        if ($servable) {
            return [$value, null];
        }

        return [false, in_array('W', $flags, true) && $cas > 0 ? $cas : null];
    }

    /**
     * Refills a key under the lease getForRefill() gave: stored only if nothing touched the placeholder since. False
     * when not stored; a refill whose outcome is unknown is followed by a delete (confirmed or fenced).
     */
    public function refill(string $key, string $value, int $lease, int $ttl = 0): bool
    {
        $key = Key::of($key);
        $index = $this->locate($key);
        $answer = $this->request($index, "ms {$key->text} " . strlen($value) . " T$ttl C$lease\r\n$value\r\n", 'meta');
        if (is_array($answer)) {
            return $answer[0] === 'HD';
        }

        $this->invalidate($key, $index);
        return false;
    }

    /**
     * Deletes a key: true once the delete is confirmed (deleted or not found) or its server is fenced for every
     * frontend; either way no frontend reads the old value once the bound has passed.
     * @throws InvalidationOwedException neither confirmed nor fenced (no write quorum of witnesses answered): the delete
     *         is owed, journaled and retried at each view read until its server confirms it or is fenced
     * @throws InvalidKeyException the key breaks the library's key rules (nothing is sent, nothing is fenced)
     */
    public function delete(string $key): bool
    {
        $key = Key::of($key);
        return $this->invalidate($key, $this->locate($key));
    }

    /** One request to one server over the bridge's own connection; null when it did not answer in time. */
    private function request(int $index, string $bytes, string $kind, ?float $timeout = null): mixed
    {
        return Exchange::run([$index => [$this->connections[$index], $bytes, $kind]], static fn ($a) => true, 1, 0, $timeout ?? $this->timeout)[$index];
    }

    /** The index (in the server list) of the server that holds a key. */
    public function serverOf(string $key): int
    {
        return $this->locate(Key::of($key));
    }

    /** This process's copy of a server's record. */
    public function entry(int $index): ViewEntry
    {
        return $this->entries[$index];
    }

    /** True while the last view read that heard from a read quorum started within the bound. */
    public function isViewFresh(): bool
    {
        return $this->leaseStartNs !== null && hrtime(true) - $this->leaseStartNs <= $this->boundNs;
    }

    /**
     * True while the last view read that heard from a read quorum started within three quarters of the bound: reads
     * are served on that shorter lease, as the .NET frontends' are. A .NET frontend's invalidation whose caller left
     * fences its server a quarter of the bound after the call returned; a reader whose view was read just before that
     * fence, and whose next reads are slow, must still stop within the bound of the return (simulator seed gutter 22021).
     */
    public function isViewFreshForReads(): bool
    {
        return $this->leaseStartNs !== null && hrtime(true) - $this->leaseStartNs <= $this->boundNs - $this->refreshNs;
    }

    /** Reads the shared view now (it is otherwise read on an operation once a quarter of the bound has passed). */
    public function refresh(): void
    {
        $start = hrtime(true);
        $this->lastReadNs = $start;
        [$entries, , $isQuorum, $hasGutter] = $this->store->read(self::nowMs());
        $this->counters['view_reads']++;
        if ($hasGutter) {
            // Its deletes would not reach the gutter, whose copies the .NET frontends serve during an outage.
            $this->leaseStartNs = null;
            throw new BallastException("The pool's shared view has a record for a gutter server: its .NET frontends use the Gutter policy, and the PHP bridge supports Offline pools only (its deletes would not reach the gutter copies).");
        }

        foreach ($entries as $i => $entry) {
            if ($entry->epoch > $this->entries[$i]->epoch) {
                $this->entries[$i] = $entry;
            }
        }

        if ($isQuorum) {
            $this->counters['quorum_reads']++;
            if ($this->leaseStartNs === null || $start > $this->leaseStartNs) {
                $this->leaseStartNs = $start;
            }
        }

        $this->retryOwed();
    }

    /** What this process owes now, with no journal file: it dies with the Pool, so it is said in the log, never dropped unsaid. */
    public function __destruct()
    {
        if ($this->journal->isPersistent()) {
            return;
        }

        foreach ($this->journal->owed() as [$server, $key]) {
            error_log("Ballast: the invalidation of key '$key' on server $server is owed and dies with this Pool (no journal_path): other frontends may read the old value until it is deleted or the server fenced.");
        }
    }

    /** Closes the bridge's own connections (the extension's are the application's). */
    public function close(): void
    {
        foreach ($this->connections as $connection) {
            $connection->close();
        }
    }

    private function locate(Key $key): int
    {
        return $this->locator->locate($key->text);
    }

    /** A delete confirmed, or its server fenced (delete(), and a store whose fate is unknown). */
    private function invalidate(Key $key, int $index): bool
    {
        $this->refreshIfDue();
        if ($this->confirmDelete($index, $key)) {
            $this->counters['deletes_confirmed']++;
            return true;
        }

        if ($this->fence($index)) {
            return true;
        }

        // Owed until its server confirms it or is fenced: every view read (of every bridge sharing the journal) retries it.
        $this->journal->add($this->names[$index], $key);
        $this->owedServers[$index] = true;
        $this->counters['invalidations_owed']++;
        $retriedBy = $this->journal->isPersistent() ? 'the bridges sharing its journal retry it at each view read' : 'this Pool retries it at each view read while it lives (set journal_path to keep it beyond)';
        throw new InvalidationOwedException("Server {$this->names[$index]}: the delete of key '{$key->text}' could not be confirmed, and the server could not be fenced in the shared view (no write quorum of witnesses answered); the invalidation is owed: $retriedBy until the server confirms it or is fenced, and other frontends may read the old value until then.", $this->names[$index], $key->text);
    }

    /**
     * Retries the owed deletes (the journal's, which other PHP processes may have written): each is sent to its server
     * again over the bridge's own connection, all servers at once, for at most an eighth of the bound. A confirmed one
     * is settled. A server that does not answer is fenced, which settles its entries (they failed before the fence, so
     * the flush that must come before its readmission covers them). What is neither stays owed, and its server
     * unread here, as the library's frontends keep a server with owed deletes unread (JournalRetrier).
     */
    private function retryOwed(): void
    {
        $byServer = [];
        $settled = [];
        foreach ($this->journal->owed() as $id => [$server, $key]) {
            $index = array_search($server, $this->names, true);
            if ($index === false) {
                $settled[] = $id; // no longer a server of the pool: its keys are not this pool's to serve
                continue;
            }

            $byServer[$index][$id] = $key;
        }

        $pending = $byServer;
        $silent = [];
        $deadline = microtime(true) + $this->refreshNs / 2e9;
        for ($sent = 0; $pending !== [] && $sent < self::MAX_RETRIES_PER_READ && microtime(true) < $deadline; $sent += count($requests)) {
            $requests = [];
            foreach ($pending as $index => $entries) {
                $requests[$index] = [$this->connections[$index], 'delete ' . $entries[array_key_first($entries)] . "\r\n", 'line'];
            }

            foreach (Exchange::run($requests, static fn ($a) => true, count($requests), 0, max(0.001, $deadline - microtime(true))) as $index => $answer) {
                $id = array_key_first($pending[$index]);
                if ($answer === 'DELETED' || $answer === 'NOT_FOUND') {
                    $settled[] = $id;
                    unset($pending[$index][$id], $byServer[$index][$id]);
                    $this->counters['owed_confirmed']++;
                    if ($pending[$index] === []) {
                        unset($pending[$index]);
                    }
                } else {
                    $silent[$index] = true;
                    unset($pending[$index]);
                }
            }
        }

        foreach (array_keys($silent) as $index) {
            if ($this->fence($index)) {
                array_push($settled, ...array_keys($byServer[$index]));
                $this->counters['owed_fenced'] += count($byServer[$index]);
                $byServer[$index] = [];
            }
        }

        $this->journal->settle($settled);
        $this->owedServers = array_map(static fn () => true, array_filter($byServer, static fn ($entries) => $entries !== []));
    }

    /**
     * The extension's read of a key with the item's CAS: [value, cas]; [false, 0] on a miss.
     * @return array{mixed, int}
     */
    private function extensionGet(Key $key): array
    {
        if ($this->client instanceof \Memcache) {
            $flags = null;
            $cas = null;
            $value = $this->client->get($key->text, $flags, $cas);
            return $value === false ? [false, 0] : [$value, (int) $cas];
        }

        $item = $this->client->get($key->text, null, \Memcached::GET_EXTENDED);
        return is_array($item) ? [$item['value'], (int) $item['cas']] : [false, 0];
    }

    /**
     * Whether the item the extension read (its CAS) may be served: the same item, with no stale mark (X), no refill
     * token (W) and no refill under way (Z). Memcached hands a stale item's refill token to whoever reads it first,
     * and this read refills nothing: a token it took is given back by deleting the stale item (only that item, by its
     * CAS), so the next reader wins a fresh lease instead of every reader missing until the stale item expires.
     */
    private function isServable(int $index, Key $key, int $cas): bool
    {
        $answer = $this->request($index, "mg {$key->text} c\r\n", 'meta');
        if (!is_array($answer) || $answer[0] !== 'HD') {
            return false;
        }

        [$current, $servable] = self::servableFlags($answer[1]);
        if (in_array('W', $answer[1], true) && $current > 0) {
            $this->request($index, "md {$key->text} C$current\r\n", 'meta');
        }

        return $servable && $current === $cas;
    }

    /**
     * A meta answer's CAS and the one hit/miss rule (Failover/ServableRule.cs): servable when the item is no refill
     * lease won here (W), no placeholder someone else refills (Z) and not marked stale (X).
     * @param string[] $flags
     * @return array{int, bool}
     */
    private static function servableFlags(array $flags): array
    {
        $cas = 0;
        $servable = true;
        foreach ($flags as $flag) {
            if ($flag === 'W' || $flag === 'Z' || $flag === 'X') {
                $servable = false;
            } elseif ($flag !== '' && $flag[0] === 'c' && ctype_digit(substr($flag, 1))) {
                $cas = (int) substr($flag, 1);
            }
        }

        return [$cas, $servable];
    }

    /** Whether the server may be read (or, for a store, written: on the lease of the whole bound) from here now. */
    private function isReadable(int $index, bool $forStore = false): bool
    {
        $this->refreshIfDue();
        if (!($forStore ? $this->isViewFresh() : $this->isViewFreshForReads())) {
            $this->counters['lease_misses']++;
            return false;
        }

        if (isset($this->owedServers[$index])) {
            $this->counters['owed_misses']++;
            return false;
        }

        $entry = $this->entries[$index];
        $fencedHere = $this->downUntilEpochAbove[$index];
        if ($entry->down || ($fencedHere > 0 && $entry->epoch <= $fencedHere)) {
            $this->counters['fenced_misses']++;
            return false;
        }

        return true;
    }

    private function refreshIfDue(): void
    {
        if ($this->lastReadNs === null || hrtime(true) - $this->lastReadNs >= $this->refreshNs) {
            $this->refresh();
        }
    }

    /**
     * Through the extension, then (php-memcache reports "not found" and "failed" alike) over the bridge's own connection
     * until the confirm timeout. A CLIENT_ERROR is the caller's error, not the server's failure: it throws, and nothing
     * is fenced (a fence would have the monitor flush the server).
     */
    private function confirmDelete(int $index, Key $key): bool
    {
        if ($this->client->delete($key->text)) {
            return true;
        }

        if ($this->client instanceof \Memcached && $this->client->getResultCode() === \Memcached::RES_NOTFOUND) {
            return true;
        }

        $deadline = microtime(true) + $this->confirmTimeout;
        do {
            $answer = $this->request($index, "delete {$key->text}\r\n", 'line', max(0.001, min($this->timeout, $deadline - microtime(true))));
            if ($answer === 'DELETED' || $answer === 'NOT_FOUND') {
                return true;
            }

            if (is_string($answer) && (str_starts_with($answer, 'CLIENT_ERROR') || $answer === 'ERROR')) {
                throw new BallastException("Server {$this->names[$index]} refused the delete of key '" . InvalidKeyException::printable($key->text) . "' as the caller's error ('" . InvalidKeyException::printable($answer) . "'); nothing was fenced.");
            }

            usleep(10000);
        } while (microtime(true) < $deadline);

        return false;
    }

    /** Marks the server down here and publishes the fence to a write quorum of witnesses (ServerPool.FenceAsync). */
    private function fence(int $index): bool
    {
        $target = $this->entries[$index];
        if (!$target->down) {
            $target = $target->next(true, self::nowMs(), $this->frontendId);
            $this->applyLocal($index, $target);
        }

        for ($attempt = 0; $attempt < 3; $attempt++) {
            $this->downUntilEpochAbove[$index] = max($this->downUntilEpochAbove[$index], $target->epoch);
            [$holding, $newer] = $this->store->fence($index, $target);
            if ($newer !== null) {
                // Someone readmitted the server after the outage this fence was computed from: fence the next epoch.
                $this->applyLocal($index, $newer);
                $target = $newer->next(true, self::nowMs(), $this->frontendId);
                $this->applyLocal($index, $target);
                continue;
            }

            if ($holding >= $this->store->writeQuorum) {
                $this->counters['fences_published']++;
                return true;
            }

            break;
        }

        $this->counters['fences_owed']++;
        return false;
    }

    private function applyLocal(int $index, ViewEntry $entry): void
    {
        if ($entry->epoch > $this->entries[$index]->epoch) {
            $this->entries[$index] = $entry;
        }
    }

    private function parseServers(string $list): void
    {
        foreach (array_filter(array_map('trim', explode(',', $list)), static fn ($s) => $s !== '') as $text) {
            if (preg_match('/^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:\[\]]+))(?::(\d{1,5}))?(?::(\d+))?$/', $text, $m) !== 1) {
                throw new BallastException("Server '$text': expected host:port[:weight] or [ipv6]:port[:weight].");
            }

            $host = $m[1] !== '' ? $m[1] : $m[2];
            $port = isset($m[3]) && $m[3] !== '' ? (int) $m[3] : 11211;
            $weight = isset($m[4]) && $m[4] !== '' ? (int) $m[4] : 1;
            if ($port < 1 || $port > 65535 || $weight < 1) {
                throw new BallastException("Server '$text': the port must be 1 to 65535 and the weight 1 or more.");
            }

            $this->servers[] = [$host, $port, $weight];
            $this->names[] = str_contains($host, ':') ? "[$host]:$port" : "$host:$port";
        }

        if ($this->servers === []) {
            throw new BallastException("Option 'servers' is empty: expected 'host:port[:weight],...'.");
        }
    }

    /** Adds the servers to the extension, with the placement the options name and no failover of its own. */
    private function configureClient(string $distribution, string $hash): void
    {
        if ($this->client instanceof \Memcache) {
            // Read when the first server is added; failover off, or the extension rehashes a down server's keys (PECL's stale reads).
            ini_set('memcache.hash_strategy', $distribution === 'pecl-consistent' ? 'consistent' : 'standard');
            ini_set('memcache.hash_function', $hash);
            ini_set('memcache.allow_failover', '0');
            foreach ($this->servers as [$host, $port, $weight]) {
                if (!$this->client->addServer($host, $port, false, $weight, $this->timeout, 1)) {
                    throw new BallastException("php-memcache refused server $host:$port.");
                }
            }

            return;
        }

        $client = $this->client;
        if ($client->getServerList() !== []) {
            throw new BallastException('The Memcached client already has servers; pass a fresh one: the bridge adds the pool\'s servers in its order.');
        }

        $client->setOption(\Memcached::OPT_LIBKETAMA_COMPATIBLE, $distribution === 'ketama');
        $client->setOption(\Memcached::OPT_COMPRESSION, false);
        $client->setOption(\Memcached::OPT_CONNECT_TIMEOUT, (int) ($this->timeout * 1000));
        $client->setOption(\Memcached::OPT_POLL_TIMEOUT, (int) ($this->timeout * 1000));
        $client->setOption(\Memcached::OPT_RETRY_TIMEOUT, 1);
        if (!$client->addServers($this->servers)) {
            throw new BallastException('php-memcached refused the server list: ' . $client->getResultMessage());
        }
    }

    /** The pool's secret, from 'secret' or the first line of the file 'secret_file' (not both); null for none. */
    private static function secretOption(array $options): ?string
    {
        $secret = $options['secret'] ?? null;
        $file = $options['secret_file'] ?? null;
        if ($secret !== null && $file !== null) {
            throw new BallastException("Set either option 'secret' or option 'secret_file', not both.");
        }

        if ($file !== null) {
            $text = is_string($file) ? @file_get_contents($file) : false;
            if ($text === false) {
                throw new BallastException("Option 'secret_file': cannot read '" . (is_string($file) ? $file : gettype($file)) . "'.");
            }

            $secret = rtrim(explode("\n", $text, 2)[0], "\r"); // the first line, as the library reads it
        }

        if ($secret !== null && !is_string($secret)) {
            throw new BallastException("Option 'secret' must be a string.");
        }

        return $secret;
    }

    private static function intOption(array $options, string $name, int $default, int $min, int $max): int
    {
        $value = $options[$name] ?? $default;
        if (!is_int($value) || $value < $min || $value > $max) {
            throw new BallastException("Option '$name' must be a whole number from $min to $max.");
        }

        return $value;
    }

    private static function nowMs(): int
    {
        return (int) (microtime(true) * 1000);
    }
}
