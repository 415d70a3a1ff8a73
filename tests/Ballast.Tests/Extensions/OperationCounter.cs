using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Ballast.Diagnostics;

namespace Ballast.Tests.Extensions;

/// <summary>
/// Counts the operations the client measures (db.client.operation.duration) against given servers, by operation
/// name: each measurement is one request to the pool. Filtered by server port, since tests run in parallel and the
/// meter is shared by every client of the process.
/// </summary>
internal sealed class OperationCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly HashSet<int> _ports;

    public OperationCounter(IEnumerable<ServerEndPoint> servers)
    {
        _ports = servers.Select(s => s.Port).ToHashSet();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == BallastTelemetry.MeterName && instrument.Name == "db.client.operation.duration")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            string? operation = null;
            int? port = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "db.operation.name")
                {
                    operation = (string?)tag.Value;
                }
                else if (tag.Key == "server.port")
                {
                    port = (int?)tag.Value;
                }
            }

            if (operation is not null && port is { } p && _ports.Contains(p))
            {
                Counts.AddOrUpdate(operation, 1, (_, n) => n + 1);
            }
        });
        _listener.Start();
    }

    public ConcurrentDictionary<string, int> Counts { get; } = new();

    public int this[string operation] => Counts.GetValueOrDefault(operation);

    public int Total => Counts.Values.Sum();

    public void Reset() => Counts.Clear();

    public void Dispose() => _listener.Dispose();
}
