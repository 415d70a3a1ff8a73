namespace Ballast.Cli;

/// <summary>
/// The exit codes of every command. Scripts branch on them, so a miss (an ordinary cache outcome) must never look like
/// a broken server, and neither may look like a typo in the command line.
/// </summary>
internal static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Success = 0;

    /// <summary>The key is not there: a <c>get</c> miss or a <c>delete</c> of a missing key.</summary>
    public const int NotFound = 1;

    /// <summary>The command line is wrong: unknown command or option, bad server list, invalid key, missing value.</summary>
    public const int Usage = 2;

    /// <summary>A server could not be reached or did not answer, so the outcome is unknown or was not achieved.</summary>
    public const int ServerError = 3;

    /// <summary>Something the CLI did not anticipate (a bug); the message still fits on one line.</summary>
    public const int Internal = 4;

    /// <summary>The TLS handshake failed: the server's certificate is not trusted or names another host (--tls, --tls-ca, --tls-server-name).</summary>
    public const int TlsFailed = 5;

    /// <summary>A server refused the login, or demands one and none was given (--user, --password-file).</summary>
    public const int AuthenticationFailed = 6;

    /// <summary>A check found what it checks for: <c>chaos</c> saw stale reads beyond the bound under a policy that promises none.</summary>
    public const int CheckFailed = 7;

    /// <summary>Interrupted (Ctrl-C), as shells report SIGINT.</summary>
    public const int Interrupted = 130;

    /// <summary>The scheme as the root command's help shows it.</summary>
    public const string Help =
        "Exit codes: 0 success; 1 miss or not found; 2 usage error (bad option, server list or key); " +
        "3 server error (unreachable, timed out, not stored); 4 internal error; 5 TLS failed (untrusted certificate); " +
        "6 authentication failed (wrong user or password); 7 a check failed (chaos: stale reads beyond the bound). " +
        "Errors are one line on standard error: 'ballast: error: ...'.";
}
