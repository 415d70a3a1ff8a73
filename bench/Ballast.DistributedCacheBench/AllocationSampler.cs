using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace Ballast.DistributedCacheBench;

/// <summary>
/// The runtime's own allocation sampling (<c>GCAllocationTick</c>: one event per ~100 KB allocated, naming the type of
/// the allocation that crossed the mark), counted by type while <see cref="Enabled"/>: which types a path allocates, in
/// proportion. Used by <c>--alloc-types</c>; costs nothing when not started.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly ConcurrentDictionary<string, long> _bytesByType = new(StringComparer.Ordinal);

    public volatile bool Enabled;

    public void Reset() => _bytesByType.Clear();

    /// <summary>The sampled types with their share of the sampled bytes, largest first.</summary>
    public IEnumerable<(string Type, double Share)> Top(int count)
    {
        var total = (double)_bytesByType.Values.Sum();
        return _bytesByType.OrderByDescending(p => p.Value).Take(count).Select(p => (p.Key, total == 0 ? 0 : p.Value / total));
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!Enabled || eventData.EventName is null || !eventData.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || eventData.PayloadNames is null)
        {
            return;
        }

        var type = eventData.Payload![eventData.PayloadNames.IndexOf("TypeName")] as string ?? "?";
        var amount = Convert.ToInt64(eventData.Payload[eventData.PayloadNames.IndexOf("AllocationAmount")], System.Globalization.CultureInfo.InvariantCulture);
        _bytesByType.AddOrUpdate(type, amount, (_, sum) => sum + amount);
    }
}
