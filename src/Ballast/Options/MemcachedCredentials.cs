namespace Ballast;

/// <summary>
/// A user name and password for memcached's ASCII authentication (<c>-Y</c>), sent on every new connection before any
/// request. Without <see cref="TlsOptions.Enabled"/> the password crosses the network in clear text: anyone on the path
/// can read it. The password never appears in <see cref="ToString"/>, in exceptions or in logs.
/// </summary>
public sealed class MemcachedCredentials
{
    /// <summary>Creates credentials.</summary>
    /// <param name="userName">The user, as in memcached's auth file (<c>user:password</c>); no spaces, colons or control characters.</param>
    /// <param name="password">The password; no line breaks or other control characters.</param>
    /// <exception cref="ArgumentException">The user or password breaks one of those rules (the password is not shown).</exception>
    public MemcachedCredentials(string userName, string password)
    {
        ArgumentException.ThrowIfNullOrEmpty(userName);
        ArgumentNullException.ThrowIfNull(password);
        if (userName.Any(c => char.IsControl(c) || char.IsWhiteSpace(c) || c == ':'))
        {
            throw new ArgumentException($"The user name '{userName.ReplaceLineEndings(" ")}' must have no spaces, colons or control characters.", nameof(userName));
        }

        if (password.Length == 0 || password.Any(char.IsControl))
        {
            throw new ArgumentException($"The password of user '{userName}' must be non-empty and have no line breaks or control characters.", nameof(password));
        }

        UserName = userName;
        Password = password;
    }

    /// <summary>The user name.</summary>
    public string UserName { get; }

    /// <summary>The password. Kept out of <see cref="ToString"/>.</summary>
    public string Password { get; }

    /// <summary>The user name and a note that the password is hidden.</summary>
    public override string ToString() => $"user '{UserName}' (password hidden)";
}
