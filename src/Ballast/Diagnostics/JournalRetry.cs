using Microsoft.Extensions.Logging;

namespace Ballast.Diagnostics;

/// <summary>What a retry of a journaled invalidation reports: a log event and the retries counter, tagged with its outcome.</summary>
internal static class JournalRetry
{
    public static void Confirmed(ILogger logger, ServerEndPoint server, string key)
    {
        logger.JournalRetryConfirmed(server, key);
        Count(server, "confirmed");
    }

    public static void Failed(ILogger logger, Exception error, ServerEndPoint server, string key)
    {
        logger.JournalRetryFailed(error, server, key);
        Count(server, "failed");
    }

    /// <summary>Counts a retry with the server's tags as every instrument has them: the host in <c>server.address</c>, the port in <c>server.port</c>.</summary>
    private static void Count(ServerEndPoint server, string outcome)
    {
        if (Instruments.JournalRetries.Enabled)
        {
            var tags = Instruments.ServerTags(server);
            tags.Add("ballast.outcome", outcome);
            Instruments.JournalRetries.Add(1, tags);
        }
    }
}
