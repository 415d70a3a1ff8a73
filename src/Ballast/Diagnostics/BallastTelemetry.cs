namespace Ballast.Diagnostics;

/// <summary>
/// The names under which Ballast publishes its telemetry, for <c>AddMeter</c> and <c>AddSource</c> in OpenTelemetry
/// (or a <see cref="System.Diagnostics.Metrics.MeterListener"/> and an <see cref="System.Diagnostics.ActivityListener"/>).
/// Every instrument, span and log event is listed in <c>docs/observability.md</c>.
/// </summary>
/// <remarks>
/// Instruments and spans follow the OpenTelemetry semantic conventions for database clients
/// (https://opentelemetry.io/docs/specs/semconv/database/database-metrics/ and database-spans/): the
/// <c>db.client.operation.duration</c> histogram and one client span per operation, tagged <c>db.system.name</c>,
/// <c>db.operation.name</c>, <c>server.address</c>, <c>server.port</c> and, on failure, <c>error.type</c>.
/// </remarks>
public static class BallastTelemetry
{
    /// <summary>The name of Ballast's <see cref="System.Diagnostics.Metrics.Meter"/>: <c>Ballast</c>.</summary>
    public const string MeterName = "Ballast";

    /// <summary>The name of Ballast's <see cref="System.Diagnostics.ActivitySource"/>: <c>Ballast</c>.</summary>
    public const string ActivitySourceName = "Ballast";

    /// <summary>The value of <c>db.system.name</c> on every measurement and span: <c>memcached</c>.</summary>
    public const string DbSystemName = "memcached";
}
