using System.Globalization;
using Ballast.FaultInjection;

namespace Ballast.Cli.Bench;

/// <summary>
/// <c>ballast bench --tls</c>: the same load over plain TCP and over TLS in one run. Two memcached servers are started
/// with the same settings, one plain and one with <c>-Z</c> (a certificate made for the run), and Ballast is measured
/// against each in alternating slices, so both see the machine in the same state.
/// </summary>
internal static class TlsComparison
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(BenchSettings s, TextWriter output, CancellationToken cancellationToken)
    {
        if (s.Servers is not null || s.Down > 0 || s.Suite)
        {
            throw new FormatException("--tls starts its own two servers (one plain, one TLS): omit --servers, --down and --suite.");
        }

        using var certificates = TestCertificates.Create();
        await using var plain = await MemcachedProcess.StartAsync(new MemcachedProcessOptions { Threads = 2, MemoryMegabytes = 256 }, cancellationToken).ConfigureAwait(false);
        await using var tls = await MemcachedProcess.StartAsync(
            new MemcachedProcessOptions { Threads = 2, MemoryMegabytes = 256, TlsCertificateFile = certificates.ServerCertificateFile, TlsKeyFile = certificates.ServerKeyFile },
            cancellationToken).ConfigureAwait(false);

        await using var plainClient = new MemcachedClient(Options(s, plain, null));
        await using var tlsClient = new MemcachedClient(Options(s, tls, certificates.AuthorityFile));
        var keys = BallastLoad.KeyNames(s.Keys);
        var value = BallastLoad.Value(s.ValueSize);
        var load = new LoadSettings(s.Concurrency, s.Duration, s.ValueSize, s.Keys, s.GetRatio, s.Multiget, s.IntoBuffer);
        var slices = Math.Clamp((int)(s.Duration.TotalSeconds / 2), 1, 5);
        await output.WriteLineAsync($"== TLS next to plain TCP: concurrency {s.Concurrency}, {s.ValueSize}-byte values, {s.GetRatio:P0} gets, {(s.Multiget > 0 ? $"multi-get {s.Multiget}, " : string.Empty)}{s.Duration.TotalSeconds:0.###} s each in {slices} alternating slice(s)").ConfigureAwait(false);

        foreach (var client in new[] { plainClient, tlsClient })
        {
            await BallastLoad.PreloadAsync(client, keys, value, cancellationToken).ConfigureAwait(false);
            await BallastLoad.RunAsync(client, keys, value, load with { Duration = s.Warmup }, cancellationToken).ConfigureAwait(false);
        }

        var tlsSlices = new List<LoadResult>();
        var plainResult = await BallastLoad.RunInterleavedAsync(
            plainClient,
            keys,
            value,
            load,
            slices,
            async duration => tlsSlices.Add(await BallastLoad.RunAsync(tlsClient, keys, value, load with { Duration = duration }, cancellationToken).ConfigureAwait(false)),
            cancellationToken).ConfigureAwait(false);

        // The TLS slices' figures: throughput over all of them; latency percentiles as the mean of the slices'.
        var tlsOps = tlsSlices.Sum(r => r.Ops);
        var tlsElapsed = TimeSpan.FromTicks(tlsSlices.Sum(r => r.Elapsed.Ticks));
        var tlsRate = tlsOps / tlsElapsed.TotalSeconds * Math.Max(1, s.Multiget);
        var plainRate = plainResult.KeysPerSecond;
        var unit = s.Multiget > 1 ? "keys/s" : "ops/s";
        await output.WriteLineAsync(string.Create(Inv, $"  plain TCP: {plainRate,12:N0} {unit}  p50 {plainResult.P50Ms:0.000} ms  p99 {plainResult.P99Ms:0.000} ms  alloc {plainResult.AllocBytesPerOp:0} B/op  ({plainResult.Errors} errors)"))
            .ConfigureAwait(false);
        await output.WriteLineAsync(string.Create(Inv, $"  TLS:       {tlsRate,12:N0} {unit}  p50 {tlsSlices.Average(r => r.P50Ms):0.000} ms  p99 {tlsSlices.Average(r => r.P99Ms):0.000} ms  alloc {tlsSlices.Average(r => r.AllocBytesPerOp):0} B/op  ({tlsSlices.Sum(r => r.Errors)} errors)"))
            .ConfigureAwait(false);
        await output.WriteLineAsync(string.Create(Inv, $"  TLS / plain: {tlsRate / plainRate:0.00}x throughput")).ConfigureAwait(false);
        return plainResult.Errors + tlsSlices.Sum(r => r.Errors) > 0 && s.Check ? 1 : 0;
    }

    private static MemcachedClientOptions Options(BenchSettings s, MemcachedProcess server, string? authorityFile)
    {
        var options = new MemcachedClientOptions();
        options.Servers.Add(new ServerEndPoint(server.Host, server.Port));
        if (s.Connections is { } connections)
        {
            options.ConnectionsPerServer = connections;
        }

        if (authorityFile is not null)
        {
            options.Tls.Enabled = true;
            options.Tls.CertificateAuthorityFile = authorityFile;
        }

        return options;
    }
}
