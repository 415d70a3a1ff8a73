using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Ballast.Diagnostics;

/// <summary>What a retry of a journaled invalidation reports: a log event and the retries counter, tagged with its outcome.</summary>
internal static class JournalRetry
{
    public static void Confirmed(ILogger logger, string server, string key)
    {
        logger.JournalRetryConfirmed(server, key);
        Count(server, "confirmed");
    }

    public static void Failed(ILogger logger, Exception error, string server, string key)
    {
        logger.JournalRetryFailed(error, server, key);
        Count(server, "failed");
    }

    private static void Count(string server, string outcome)
    {
        if (Instruments.JournalRetries.Enabled)
        {
            Instruments.JournalRetries.Add(1, new TagList { { "db.system.name", BallastTelemetry.DbSystemName }, { "server.address", server }, { "ballast.outcome", outcome } });
        }
    }
}
