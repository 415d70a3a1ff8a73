using System.Diagnostics;
using System.Text;
using Ballast.FaultInjection;

namespace Ballast.Tests.Integrity;

/// <summary>
/// Issue 16, break 4: a refill lease that outlives a restart of its server. Reader R wins a lease (a placeholder with
/// CAS c) and reads v1 from the database. The server is killed; the application writes v2 and deletes
/// (<see cref="DeleteStatus.ServerFenced"/>); the server comes back empty, is flushed and readmitted. The restarted
/// memcached numbers CAS from 1 again: the test brings its counter round so that a new placeholder of the key gets
/// CAS c (<see cref="CasCounter.VivifyAtAsync"/>), the moment a busy server reaches by itself. R's refill then
/// carries a lease of the earlier epoch: it must not make v1 readable.
/// </summary>
[Collection(WallClockBoundCollection.Name)]
public sealed class EdgeOfPromiseLeaseEpochTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task Break4_a_refill_lease_taken_before_its_server_restarted_stores_nothing_readable()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline);
        var reader = harness.Frontends[0];
        var key = harness.KeyOn(0, "edge4");
        var server = harness.Server(0);

        // A lease CAS well above what the restarted server's own start-up (flush, view records, locks) uses, so its
        // counter can always be brought round to it.
        Assert.True(await CasCounter.AdvanceToAsync(server.Host, server.Port, await CasCounter.TakeAsync(server.Host, server.Port) + 1000));
        var miss = await reader.GetForRefillAsync(key);
        Assert.False(miss.IsHit);
        var lease = Assert.IsType<RefillLease>(miss.Lease);
        var v1 = harness.DatabaseVersion(key);
        var leaseCas = await CasCounter.ReadItemCasAsync(server.Host, server.Port, key) ?? throw new InvalidOperationException("R's lease left no placeholder on the server.");

        server.Kill();
        Assert.True(await harness.WaitForStateAsync(0, ServerState.Down, TimeSpan.FromSeconds(5)), "not every frontend saw the server die");
        Assert.Equal(2, harness.DatabaseVersionAfterWrite(key));
        Assert.Equal(DeleteStatus.ServerFenced, await harness.Frontends[1].DeleteAsync(key));
        var sinceDelete = Stopwatch.StartNew();

        await server.RestartAsync();
        Assert.True(await harness.WaitForStateAsync(0, ServerState.Up, TimeSpan.FromSeconds(10)), "the restarted server was not readmitted");
        var placeholder = await CasCounter.VivifyAtAsync(server.Host, server.Port, key, leaseCas);
        Assert.True(placeholder == leaseCas, $"could not bring the restarted server's CAS counter round to the lease's {leaseCas} (the placeholder got {placeholder?.ToString() ?? "nothing"}): the scenario did not happen");

        string refill;
        try
        {
            refill = (await reader.RefillAsync(key, Encoding.ASCII.GetBytes($"v{v1}"), lease)).Status.ToString();
        }
        catch (MemcachedException error)
        {
            refill = $"refused with {error.GetType().Name}";
        }

        var refilled = sinceDelete.Elapsed;

        // The reads that count begin more than B after the delete returned.
        var early = Bound + TimeSpan.FromMilliseconds(50) - sinceDelete.Elapsed;
        if (early > TimeSpan.Zero)
        {
            await Task.Delay(early);
        }

        var stale = new List<string>();
        var reads = 0;
        var until = sinceDelete.Elapsed + TimeSpan.FromSeconds(1);
        while (sinceDelete.Elapsed < until)
        {
            for (var f = 0; f < harness.Frontends.Length; f++)
            {
                var began = sinceDelete.Elapsed;
                var version = await harness.ReadAsync(f, key);
                reads++;
                if (version < 2)
                {
                    stale.Add($"frontend {f} read v{version} {began.TotalMilliseconds:0} ms after the delete");
                }
            }

            await Task.Delay(20);
        }

        var kept = await harness.DirectGetAsync(0, key);
        output.WriteLine($"lease CAS {leaseCas}; refill {refill} {refilled.TotalMilliseconds:0} ms after the delete; {stale.Count} of {reads} reads returned v1; the server holds {kept ?? "nothing"}");
        Assert.True(
            stale.Count == 0 && kept != $"v{v1}",
            $"R's refill under a lease of the server's earlier epoch (CAS {leaseCas}) was {refill} {refilled.TotalMilliseconds:0} ms after the delete; {stale.Count} of {reads} reads beyond B returned v1 ({string.Join("; ", stale.Take(3))}) and the server holds {kept ?? "nothing"}.");
    }
}
