using Ballast.Connections;
using Ballast.Protocol;
using Ballast.Protocol.Commands;

namespace Ballast.Tests.Connections;

/// <summary>
/// The in-flight queue is lock-free: one producer (the connection's write lock serialises callers) and takers that
/// race (the read loop, and a poisoning that drains). These tests race them for real, bounded in count and time.
/// </summary>
public sealed class InFlightQueueTests
{
    [Fact]
    public void Items_come_out_in_order_across_growth_and_wrap()
    {
        var queue = new InFlightQueue();
        var commands = Enumerable.Range(0, 1000).Select(i => new Marker(i)).ToArray();
        var next = 0;
        for (var round = 0; round < 50; round++)
        {
            // Fill past the initial 64 slots (growth), then take most back out (wrap), round after round.
            for (var i = 0; i < 20; i++)
            {
                queue.Enqueue(commands[(round * 20 + i) % commands.Length]);
            }

            Assert.True(queue.TryPeekAt(0, out var head));
            for (var i = 0; i < 15; i++)
            {
                Assert.True(queue.TryDequeue(out var taken));
                Assert.Same(commands[next++ % commands.Length], taken);
                if (i == 0)
                {
                    Assert.Same(head, taken);
                }
            }
        }

        Assert.Equal(50 * 5, queue.Count);
        Assert.True(queue.TryPeekAt(1, out var second));
        Assert.True(queue.TryDequeue(out var first));
        Assert.Same(commands[next % commands.Length], first);
        Assert.Same(commands[(next + 1) % commands.Length], second);
    }

    // The timeout ends a broken queue's endless retry (a head claimed past the tail), which no loop here could see.
    [Fact(Timeout = 60_000)]
    public async Task Two_takers_racing_a_producer_take_every_item_exactly_once_and_in_order()
    {
        const int Items = 400_000;
        var queue = new InFlightQueue();
        var commands = Enumerable.Range(0, Items).Select(i => new Marker(i)).ToArray();
        var takenBy = new int[Items];
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var producerDone = 0;

        var producer = Task.Run(() =>
        {
            for (var i = 0; i < Items && DateTime.UtcNow < deadline; i++)
            {
                // Keep up to a few thousand in flight, so the ring grows several times under the takers' feet.
                while (queue.Count > 3000 && DateTime.UtcNow < deadline)
                {
                    Thread.SpinWait(20);
                }

                queue.Enqueue(commands[i]);
            }

            Volatile.Write(ref producerDone, 1);
        });

        Task<List<int>> Taker(int id) => Task.Run(() =>
        {
            var seen = new List<int>();
            while (DateTime.UtcNow < deadline)
            {
                if (queue.TryDequeue(out var command))
                {
                    var index = ((Marker)command).Index;
                    Interlocked.Increment(ref takenBy[index]);
                    seen.Add(index);
                }
                else if (Volatile.Read(ref producerDone) == 1 && queue.Count == 0)
                {
                    break;
                }
            }

            return seen;
        });

        var takers = new[] { Taker(1), Taker(2) };
        await Task.WhenAll([producer, .. takers]);

        Assert.True(DateTime.UtcNow < deadline, "the race did not finish within its time bound");
        Assert.All(takenBy, count => Assert.Equal(1, count));
        foreach (var taker in takers)
        {
            // Each taker's claims on the head are ordered, so what one taker saw is increasing.
            var seen = await taker;
            for (var i = 1; i < seen.Count; i++)
            {
                Assert.True(seen[i] > seen[i - 1], $"a taker saw item {seen[i]} after {seen[i - 1]}");
            }
        }
    }

    [Fact]
    public void A_peek_at_the_oldest_pairs_the_request_with_its_own_stamp()
    {
        var queue = new InFlightQueue();
        var first = new Marker(1);
        var second = new Marker(2);
        queue.Enqueue(first);
        queue.Enqueue(second);
        queue.StampNewest(1, 42);
        queue.StampNewest(2, 7);

        Assert.True(queue.TryPeekOldest(out var oldest, out var stamp));
        Assert.Same(first, oldest);
        Assert.Equal(7, stamp);
        Assert.Equal(7, second.WrittenTimestamp);
    }

    private sealed class Marker(int index) : MetaCommand
    {
        public int Index { get; } = index;

        public override string? Key => null;

        public override bool RunContinuationsAsynchronously { set { } }

        public override void WriteRequest(RequestBuffer buffer) => throw new NotSupportedException();

        public override bool OnResponse(in MetaResponse response) => throw new NotSupportedException();

        public override void Complete(bool reusable) => throw new NotSupportedException();

        public override void Fail(Exception error) => throw new NotSupportedException();
    }
}
