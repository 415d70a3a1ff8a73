using System.Security.Cryptography;
using System.Text;
using Ballast.Simulation;
using Ballast.Simulation.Workload;

namespace Ballast.Tests.Simulation;

/// <summary>
/// The simulator's batch calls (<see cref="SimulationOptions.BatchRatio"/>): off by default, so every schedule drawn
/// before they existed (the pinned seeds of <see cref="FoundSeedTests"/>, <see cref="ReplayTests"/>, ...) is drawn the
/// same; on, they run through the real client and each key's outcome is checked like a single-key call's.
/// </summary>
public sealed class BatchWorkloadTests(ITestOutputHelper output)
{
    /// <summary>
    /// SHA-256 of the first 400 operations of the workers of seeds 1 to 20 (three policies), with the default options,
    /// as drawn by the operation source before batch calls existed (computed with that source, commit 7620d5e).
    /// </summary>
    private const string StreamsBeforeBatches = "970B00856F98D889DA2FD42A9A8E755C10A5C3B8256C5C4159F9719A5E786805";

    [Fact]
    public void With_batch_calls_off_every_worker_draws_the_operations_it_drew_before_they_existed()
    {
        var digest = StreamDigest(new SimulationOptions());
        Assert.True(digest == StreamsBeforeBatches, $"the default options draw other operations than before batch calls existed: digest {digest}");
        Assert.NotEqual(StreamsBeforeBatches, StreamDigest(new SimulationOptions { BatchRatio = 0.15 }));
    }

    [Fact]
    public void Batch_calls_run_through_the_client_and_every_key_of_them_is_checked()
    {
        var kinds = new Dictionary<OperationKind, int>();
        var unexplained = new List<string>();
        foreach (var policy in new[] { FailoverPolicy.Offline, FailoverPolicy.Gutter, FailoverPolicy.Replicated })
        {
            var options = new SimulationOptions { Policy = policy, BatchRatio = 0.5, ActiveTime = TimeSpan.FromSeconds(3) };
            for (var seed = 1; seed <= 8; seed++)
            {
                var result = ScheduleRunner.Run(SchedulePlan.Create(seed, options), options);
                foreach (var op in result.History.Operations.Where(o => o.Kind is OperationKind.BatchGet or OperationKind.BatchSet or OperationKind.BatchDelete))
                {
                    kinds[op.Kind] = kinds.GetValueOrDefault(op.Kind) + 1;
                }

                unexplained.AddRange(result.Violations.Where(v => v.Rule != "stale-read-no-quorum").Select(v => $"{policy} seed {seed}: {v}"));
            }
        }

        output.WriteLine(string.Join(", ", kinds.Select(k => $"{k.Key} {k.Value} key outcomes")));
        Assert.All(new[] { OperationKind.BatchGet, OperationKind.BatchSet, OperationKind.BatchDelete }, kind => Assert.True(kinds.GetValueOrDefault(kind) > 20, $"{kind}: {kinds.GetValueOrDefault(kind)} key outcomes"));
        Assert.True(unexplained.Count == 0, string.Join(Environment.NewLine, unexplained));
    }

    private static string StreamDigest(SimulationOptions shape)
    {
        var text = new StringBuilder();
        foreach (var policy in new[] { FailoverPolicy.Offline, FailoverPolicy.Gutter, FailoverPolicy.Replicated })
        {
            for (var seed = 1; seed <= 20; seed++)
            {
                var source = new OperationSource(seed, shape with { Policy = policy });
                for (var i = 0; i < 400; i++)
                {
                    text.Append(source.Next()).Append('\n');
                }
            }
        }

        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}
