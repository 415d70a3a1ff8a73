using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Ballast.FaultInjection;
using Ballast.Simulation.Server;

namespace Ballast.Tests.Simulation;

/// <summary>
/// The simulated memcached against a real one (memcached 1.6 started by the test): the same command streams, the
/// answers compared byte for byte, CAS values included (both start fresh, so they hand out the same numbers). What
/// cannot match is left out of the streams and said here: eviction (memcached evicts per slab class, the simulation
/// from one LRU), and TTLs that could expire mid-stream (the two clocks tick at different phases within a second);
/// expiry and the delayed flush have a test of their own with waits chosen away from second boundaries.
/// </summary>
public sealed class DifferentialTests(ITestOutputHelper output)
{
    // 24 streams of 250 commands in the suite (a few seconds); 300 were run once while porting (75,000 commands, identical).
    private const int Streams = 24;

    /// <summary>
    /// memcached's LRU maintainer and crawler threads take references to items as they move them between its LRUs; an
    /// arithmetic command that meets such a reference replaces the item with a new one instead of updating it in place,
    /// which drops its stale and token-sent flags (seen under load: <c>VA 4 f0 c24 Z X</c> from the simulation, the same
    /// item with neither flag from memcached). The simulation has one LRU and no such threads, so the real one runs
    /// without them here; eviction, their business, is out of these streams anyway.
    /// </summary>
    private static readonly MemcachedProcessOptions WithoutBackgroundThreads = new() { ExtraArguments = ["-o", "no_lru_crawler,no_lru_maintainer"] };

    [Fact]
    public async Task Random_command_streams_get_the_same_answers_from_the_simulation_and_a_real_memcached()
    {
        var commands = 0;
        for (var seed = 1; seed <= Streams; seed++)
        {
            var stream = MetaCommandStream.Create(seed, 250);
            commands += 250;
            await using var real = await MemcachedProcess.StartAsync(WithoutBackgroundThreads);
            var simulated = Simulated(out _);
            var expected = Run(simulated, stream);
            var actual = await SendAsync(real, Encoding.ASCII.GetBytes(stream), expected.Length);
            AssertSame(seed, stream, expected, actual);
        }

        output.WriteLine($"{commands} commands in {Streams} streams: every answer identical");
    }

    [Fact]
    public async Task The_streams_cover_every_flag_Ballast_sends()
    {
        var all = string.Concat(Enumerable.Range(1, Streams).Select(seed => MetaCommandStream.Create(seed, 250)));
        foreach (var required in new[] { " v", " f", " c", " q", " T", " N", " b", " O", " k", " C", " I", " F", " ME", " MA", " MP", " MR", " MS", " MI", " MD", " J", " D", "mn\r\n", "flush_all", "version" })
        {
            Assert.Contains(required, all, StringComparison.Ordinal);
        }

        // And the answers exercise the lease flags: a win (W), a placeholder someone else won (Z), a stale item (X).
        var simulated = Simulated(out _);
        var answers = Encoding.ASCII.GetString(Run(simulated, all));
        Assert.Contains(" W\r\n", answers, StringComparison.Ordinal);
        Assert.Contains(" Z", answers, StringComparison.Ordinal);
        Assert.Contains(" X", answers, StringComparison.Ordinal);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Expiry_delayed_flush_and_restart_match_a_real_memcached()
    {
        await using var real = await MemcachedProcess.StartAsync();
        var simulated = Simulated(out var clock);

        async Task StepAsync(string commands)
        {
            var expected = Run(simulated, commands);
            var actual = await SendAsync(real, Encoding.ASCII.GetBytes(commands), expected.Length);
            AssertSame(0, commands, expected, actual);
        }

        async Task WaitAsync(TimeSpan wait)
        {
            await Task.Delay(wait);
            clock.Advance(wait);
        }

        // TTLs of 1 and 2 s are gone after 3.5 s whatever the phase of either clock; one of 10 s is not.
        await StepAsync("ms t1 1 T1 c\r\na\r\nms t2 1 T2 c\r\nb\r\nms t10 1 T10 c\r\nc\r\nmg t10 v t\r\n");
        await WaitAsync(TimeSpan.FromSeconds(3.5));
        await StepAsync("mg t1 v c\r\nmg t2 v c\r\nmg t10 v c\r\nmn\r\n");

        // flush_all with a delay of 2 s: items stored before it, and right after it, are gone 3.5 s later (memcached
        // compares their time with the deadline); one stored after the deadline stays.
        await StepAsync("ms f1 1 c\r\n1\r\nflush_all 2\r\nms f2 1 c\r\n2\r\nmg f1 v\r\nmg f2 v\r\n");
        await WaitAsync(TimeSpan.FromSeconds(3.5));
        await StepAsync("mg f1 v\r\nmg f2 v\r\nms f3 1 c\r\n3\r\nmg f3 v c\r\n");

        // A restart: empty, and CAS values from 1 again.
        await real.RestartAsync();
        simulated.Start(0);
        await StepAsync("mg f3 v\r\nms r 1 c\r\nx\r\nmg r v c\r\nma n N0 J5 v c\r\n");
    }

    private static SimulatedMemcached Simulated(out ManualClock clock)
    {
        var manual = new ManualClock();
        clock = manual;
        var memcached = new SimulatedMemcached("sim", () => manual.Ticks, ticks => DateTimeOffset.UtcNow.ToUnixTimeSeconds() + ((ticks - manual.Ticks) / TimeSpan.TicksPerSecond), 64L * 1024 * 1024);
        memcached.Start(0);
        return memcached;
    }

    private static byte[] Run(SimulatedMemcached server, string commands)
    {
        var input = Encoding.ASCII.GetBytes(commands);
        var answers = new ArrayBufferWriter<byte>();
        var consumed = MetaProtocol.Process(server, input, answers, null);
        Assert.Equal(input.Length, consumed);
        return answers.WrittenSpan.ToArray();
    }

    /// <summary>Sends the stream in one write and reads exactly as many bytes as the simulation answered, then checks nothing more comes.</summary>
    private static async Task<byte[]> SendAsync(MemcachedProcess server, byte[] stream, int expectedLength)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(server.Host), server.Port));
        await socket.SendAsync(stream);
        var received = new byte[expectedLength + 4096];
        var count = 0;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            while (count < expectedLength)
            {
                var n = await socket.ReceiveAsync(received.AsMemory(count), SocketFlags.None, deadline.Token);
                if (n == 0)
                {
                    break;
                }

                count += n;
            }
        }
        catch (OperationCanceledException)
        {
            // Fewer bytes than the simulation answered: the comparison shows where they part.
            return received[..count];
        }

        // Anything beyond what the simulation answered would be a difference too.
        using var quiet = new CancellationTokenSource(TimeSpan.FromMilliseconds(150));
        try
        {
            count += await socket.ReceiveAsync(received.AsMemory(count), SocketFlags.None, quiet.Token);
        }
        catch (OperationCanceledException)
        {
        }

        return received[..count];
    }

    private void AssertSame(int seed, string commands, byte[] expected, byte[] actual)
    {
        if (expected.AsSpan().SequenceEqual(actual))
        {
            return;
        }

        var at = expected.AsSpan().CommonPrefixLength(actual);
        var from = Math.Max(0, at - 200);
        output.WriteLine($"seed {seed}: first difference at byte {at}");
        output.WriteLine("simulated: " + Encoding.ASCII.GetString(expected, from, Math.Min(400, expected.Length - from)).Replace("\r\n", "\\r\\n\n", StringComparison.Ordinal));
        output.WriteLine("real:      " + Encoding.ASCII.GetString(actual, from, Math.Min(400, actual.Length - from)).Replace("\r\n", "\\r\\n\n", StringComparison.Ordinal));
        output.WriteLine("commands:  " + commands[..Math.Min(commands.Length, 4000)]);
        Assert.Fail($"seed {seed}: the simulated memcached's answers differ from the real one's at byte {at} (see the output)");
    }

    /// <summary>A clock the test moves by exactly what it waited.</summary>
    private sealed class ManualClock
    {
        public long Ticks { get; private set; }

        public void Advance(TimeSpan by) => Ticks += by.Ticks;
    }
}
