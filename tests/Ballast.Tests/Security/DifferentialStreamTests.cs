using System.Text;
using Ballast.Protocol.Commands;
using static Ballast.Tests.Security.ScriptedConnection;

namespace Ballast.Tests.Security;

/// <summary>
/// The differential run: 100,000 random response streams, most of them correct and the rest broken in one of the ways
/// a hostile or faulty server can break them, cut into random fragments and played into real connections. What each
/// request got is checked against what its server answered it: 0 answers given to the wrong request, 0 requests left
/// hanging once the stream ended, every failure a <see cref="MemcachedException"/>, allocation bounded per stream.
/// </summary>
[Collection(nameof(AllocationMeasuringCollection))]
public sealed class DifferentialStreamTests(ITestOutputHelper output)
{
    private const int Streams = 100_000;
    private const int Concurrency = 64;

    [Fact]
    public async Task One_hundred_thousand_random_fragmented_streams_give_no_request_anothers_answer_and_leave_none_hanging()
    {
        var tally = new Tally();
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var next = -1;
        var workers = Enumerable.Range(0, Concurrency).Select(_ => Task.Run(async () =>
        {
            int seed;
            while ((seed = Interlocked.Increment(ref next)) < Streams)
            {
                await RunOneAsync(seed, tally);
            }
        }));
        await Task.WhenAll(workers);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        output.WriteLine(
            $"{Streams} streams in {started.Elapsed.TotalSeconds:0.0} s: {tally.Requests} requests, {tally.Succeeded} answered, {tally.Failed} failed, " +
            $"{tally.WrongAnswers} wrong answers, {tally.Hangs} hangs, {tally.UnexpectedErrors} unexpected errors, {tally.CleanFailures} failures on clean streams; " +
            $"{allocated / Streams / 1024.0:0.0} KB allocated per stream; mutations: {string.Join(", ", tally.Mutations.Select(m => $"{m.Key}={m.Value}"))}");

        Assert.Equal(0, tally.WrongAnswers);
        Assert.Equal(0, tally.Hangs);
        Assert.Equal(0, tally.UnexpectedErrors);
        Assert.Equal(0, tally.CleanFailures);
        Assert.True(tally.Succeeded > tally.Requests / 2, "most requests are on clean streams and must succeed");
        Assert.True(tally.Failed > Streams / 10, "the broken streams must fail requests");
        Assert.True(allocated / Streams < 512 * 1024, $"{allocated / Streams} bytes allocated per stream");
    }

    [Fact]
    public void The_checker_catches_an_answer_given_to_the_wrong_request()
    {
        // The control: the check used above, handed a result that belongs to another request, must count it.
        var seed = 0;
        var script = Script.Generate(new Random(seed), mutate: false);
        while (script.Requests.Count(r => r.Kind == Kind.Get && r.Value is not null) < 2)
        {
            script = Script.Generate(new Random(++seed), mutate: false);
        }

        var first = script.Requests.First(r => r.Kind == Kind.Get && r.Value is not null);
        var other = script.Requests.First(r => r.Kind == Kind.Get && r.Value is not null && r != first);
        var tally = new Tally();
        Check(first, Task.FromResult(new GetResult(Encoding.ASCII.GetBytes(other.Value!), other.Flags, other.Cas)), clean: true, tally);
        Check(first, Task.FromResult(new GetResult(Encoding.ASCII.GetBytes(first.Value!), first.Flags, first.Cas)), clean: true, tally);
        Assert.Equal(1, tally.WrongAnswers);
    }

    private static async Task RunOneAsync(int seed, Tally tally)
    {
        var random = new Random(seed);
        var script = Script.Generate(random, mutate: seed % 3 != 0);
        tally.Count(script.Mutation);
        var (connection, outcomes) = Run(script.Commands, Fragment(script.Bytes, random));
        try
        {
            await Task.WhenAll(outcomes).WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (TimeoutException)
        {
            Interlocked.Add(ref tally.Hangs, outcomes.Count(o => !o.IsCompleted));
        }
        catch (Exception)
        {
            // Failures are examined one by one below.
        }

        for (var i = 0; i < script.Requests.Count; i++)
        {
            Check(script.Requests[i], outcomes[i], script.Mutation == Mutation.None, tally);
        }

        await connection.DisposeAsync();
    }

    private static void Check(Request request, Task outcome, bool clean, Tally tally)
    {
        Interlocked.Increment(ref tally.Requests);
        if (!outcome.IsCompleted)
        {
            return;
        }

        if (!outcome.IsCompletedSuccessfully)
        {
            Interlocked.Increment(ref tally.Failed);
            if (clean)
            {
                Interlocked.Increment(ref tally.CleanFailures);
            }

            var error = outcome.Exception?.InnerException;
            if (error is not MemcachedException || error.Message.Contains("the read loop failed", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref tally.UnexpectedErrors);
            }

            return;
        }

        Interlocked.Increment(ref tally.Succeeded);
        var right = request.Kind switch
        {
            Kind.Get => Matches(((Task<GetResult>)outcome).Result, request.Value, request.Flags, request.Cas, missAllowed: false),
            Kind.Set => ((Task<StoreResult>)outcome).Result.Status == StoreStatus.Stored,
            _ => ((Task<GetResult[]>)outcome).Result.Select((r, k) => Matches(r, request.BatchValues![k], 0, 1, missAllowed: true)).All(ok => ok),
        };
        if (!right)
        {
            Interlocked.Increment(ref tally.WrongAnswers);
        }
    }

    private static bool Matches(GetResult result, string? expected, uint flags, ulong cas, bool missAllowed)
    {
        if (!result.IsHit)
        {
            // A quiet multi-get answer that never came is a miss, which is what the server said by not sending it.
            return expected is null || missAllowed;
        }

        return expected is not null && result.AsString() == expected && result.Flags == flags && result.Cas == cas;
    }

    private static byte[][] Fragment(byte[] bytes, Random random)
    {
        var pieces = new List<byte[]>();
        var at = 0;
        while (at < bytes.Length)
        {
            var length = random.Next(4) switch
            {
                0 => 1,
                1 => random.Next(1, 8),
                2 => random.Next(1, 64),
                _ => random.Next(1, 4096),
            };
            length = Math.Min(length, bytes.Length - at);
            pieces.Add(bytes[at..(at + length)]);
            at += length;
        }

        return [.. pieces];
    }

    private enum Kind
    {
        Get,
        Set,
        Batch,
    }

    private enum Mutation
    {
        None,
        WrongOpaque,
        SwapAnswers,
        DropAnswer,
        RepeatAnswer,
        Unsolicited,
        Truncate,
        HugeSize,
        BadSize,
        BadFlags,
        Garbage,
        LongLine,
        StatFlood,
        LoneLf,
    }

    private sealed record Request(Kind Kind, MetaCommand Command, string? Value, uint Flags, ulong Cas, string?[]? BatchValues);

    /// <summary>Requests, the answers a correct server gives them (one unit per answer line), and one mutation.</summary>
    private sealed class Script
    {
        public required List<Request> Requests { get; init; }

        public List<MetaCommand> Commands => [.. Requests.Select(r => r.Command)];

        public required byte[] Bytes { get; init; }

        public Mutation Mutation { get; init; }

        public static Script Generate(Random random, bool mutate)
        {
            var requests = new List<Request>();
            var answers = new List<string>();
            var opaque = 0u;
            var count = random.Next(1, 9);
            for (var i = 0; i < count; i++)
            {
                switch (random.Next(3))
                {
                    case 0:
                    {
                        var hit = random.Next(4) != 0;
                        var value = hit ? $"value-{random.Next()}-{i}" : null;
                        var flags = (uint)random.Next();
                        var cas = (ulong)random.NextInt64(1, long.MaxValue);
                        requests.Add(new Request(Kind.Get, Get($"k{i}"), value, flags, cas, null));
                        answers.Add(hit ? $"VA {value!.Length} f{flags} c{cas} O{opaque}\r\n{value}\r\n" : $"EN O{opaque}\r\n");
                        opaque++;
                        break;
                    }

                    case 1:
                        requests.Add(new Request(Kind.Set, Set($"s{i}", "v"), null, 0, 0, null));
                        answers.Add($"HD c{random.Next(1, 1000)} O{opaque}\r\n");
                        opaque++;
                        break;
                    default:
                    {
                        var size = random.Next(1, 5);
                        var values = new string?[size];
                        for (var k = 0; k < size; k++)
                        {
                            if (random.Next(3) != 0)
                            {
                                values[k] = $"batch-{random.Next()}-{i}-{k}";
                                answers.Add($"VA {values[k]!.Length} f0 c1 O{opaque + (uint)k}\r\n{values[k]}\r\n");
                            }
                        }

                        answers.Add("MN\r\n");
                        requests.Add(new Request(Kind.Batch, GetMany([.. Enumerable.Range(0, size).Select(k => $"b{i}-{k}")]), null, 0, 0, values));
                        opaque += (uint)size;
                        break;
                    }
                }
            }

            var mutation = mutate ? (Mutation)random.Next(1, Enum.GetValues<Mutation>().Length) : Mutation.None;
            var text = Apply(mutation, answers, opaque, random);
            return new Script { Requests = requests, Bytes = Encoding.Latin1.GetBytes(text), Mutation = mutation };
        }

        /// <summary>
        /// Breaks the answers. Left out on purpose: an opaque forged to name another key of the same multi-get batch,
        /// and value bytes changed in place. Both are valid answers that say something else, which no client can tell
        /// from the truth (docs/security.md: who can write to your memcached can serve your users anything).
        /// </summary>
        private static string Apply(Mutation mutation, List<string> answers, uint opaques, Random random)
        {
            var pick = random.Next(answers.Count);
            switch (mutation)
            {
                case Mutation.WrongOpaque:
                    answers[pick] = System.Text.RegularExpressions.Regex.Replace(answers[pick], " O[0-9]+", $" O{opaques + (uint)random.Next(0, 1000)}");
                    break;
                case Mutation.SwapAnswers when answers.Count > 1:
                    var other = (pick + 1) % answers.Count;
                    (answers[pick], answers[other]) = (answers[other], answers[pick]);
                    break;
                case Mutation.DropAnswer:
                    answers.RemoveAt(pick);
                    break;
                case Mutation.RepeatAnswer:
                    answers.Insert(pick, answers[pick]);
                    break;
                case Mutation.Unsolicited:
                    answers.Insert(random.Next(answers.Count + 1), $"HD O{opaques + 5000}\r\n");
                    break;
                case Mutation.Truncate:
                {
                    var all = string.Concat(answers);
                    return all[..random.Next(all.Length)];
                }

                case Mutation.HugeSize:
                    answers.Insert(pick, $"VA {(random.Next(2) == 0 ? "2000000000" : "2147483647")} f0 c1 O{random.Next((int)opaques)}\r\n");
                    break;
                case Mutation.BadSize:
                    string[] sizes = ["-1", "01", "+3", "1x", "99999999999999999999999", ""];
                    answers.Insert(pick, $"VA {sizes[random.Next(sizes.Length)]} f0 c1 O0\r\nabc\r\n");
                    break;
                case Mutation.BadFlags:
                    string[] flags = ["f4294967296", "O0 O0", "c-1", "f1 f2", "O1abc"];
                    answers.Insert(pick, $"VA 1 {flags[random.Next(flags.Length)]} c1\r\nx\r\n");
                    break;
                case Mutation.Garbage:
                    var bytes = new char[random.Next(1, 40)];
                    for (var i = 0; i < bytes.Length; i++)
                    {
                        bytes[i] = (char)random.Next(0, 256);
                    }

                    answers.Insert(pick, new string(bytes) + "\r\n");
                    break;
                case Mutation.LongLine:
                    answers.Insert(pick, "HD O0 " + new string('x', random.Next(9000, 60000)) + "\r\n");
                    break;
                case Mutation.StatFlood:
                    answers.Insert(pick, string.Concat(Enumerable.Repeat("STAT x 1\r\n", random.Next(1, 200))));
                    break;
                case Mutation.LoneLf:
                    answers[pick] = answers[pick].Replace("\r\n", "\n", StringComparison.Ordinal);
                    break;
            }

            return string.Concat(answers);
        }
    }

    private sealed class Tally
    {
        public int Requests;
        public int Succeeded;
        public int Failed;
        public int WrongAnswers;
        public int Hangs;
        public int UnexpectedErrors;
        public int CleanFailures;
        public readonly System.Collections.Concurrent.ConcurrentDictionary<Mutation, int> Mutations = new();

        public void Count(Mutation mutation) => Mutations.AddOrUpdate(mutation, 1, (_, n) => n + 1);
    }
}
