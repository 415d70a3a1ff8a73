namespace Ballast;

/// <summary>
/// A user name and password for an etcd cluster with authentication enabled: the etcd view store authenticates with
/// them and sends the token etcd returns on every call (authenticating again when etcd says the token is no longer
/// valid). With <c>http://</c> endpoints the password crosses the network in clear text. The password never appears in
/// <see cref="ToString"/>, in exceptions or in logs.
/// </summary>
public sealed class EtcdCredentials
{
    /// <summary>Creates credentials.</summary>
    /// <param name="userName">The etcd user; no control characters.</param>
    /// <param name="password">The password; not empty.</param>
    /// <exception cref="ArgumentException">The user or password breaks one of those rules (the password is not shown).</exception>
    public EtcdCredentials(string userName, string password)
    {
        ArgumentException.ThrowIfNullOrEmpty(userName);
        ArgumentNullException.ThrowIfNull(password);
        if (userName.Any(char.IsControl))
        {
            throw new ArgumentException($"The etcd user name '{userName.ReplaceLineEndings(" ")}' must have no control characters.", nameof(userName));
        }

        if (password.Length == 0)
        {
            throw new ArgumentException($"The etcd password of user '{userName}' must not be empty.", nameof(password));
        }

        UserName = userName;
        Password = password;
    }

    /// <summary>The user name.</summary>
    public string UserName { get; }

    /// <summary>The password. Kept out of <see cref="ToString"/>.</summary>
    public string Password { get; }

    /// <summary>The user name and a note that the password is hidden.</summary>
    public override string ToString() => $"etcd user '{UserName}' (password hidden)";
}
