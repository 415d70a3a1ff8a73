using Ballast.FaultInjection;

namespace Ballast.Tests.Security;

/// <summary>
/// One real memcached started with TLS (<c>-Z</c>), authentication (<c>-Y</c>) or both, with its certificates and auth
/// file, all removed at disposal.
/// </summary>
public sealed class SecuredServer : IAsyncDisposable
{
    public const string User = "ballast";
    public const string Password = "s3cret-Pa55word";

    private SecuredServer(MemcachedProcess process, TestCertificates certificates)
    {
        Process = process;
        Certificates = certificates;
    }

    public MemcachedProcess Process { get; }

    public TestCertificates Certificates { get; }

    public ServerEndPoint EndPoint => new(Process.Host, Process.Port);

    public static async Task<SecuredServer> StartAsync(bool tls, bool auth)
    {
        var certificates = TestCertificates.Create();
        string? authFile = null;
        if (auth)
        {
            authFile = Path.Combine(certificates.Directory, "auth.txt");
            await File.WriteAllTextAsync(authFile, $"{User}:{Password}\n");
        }

        try
        {
            var process = await MemcachedProcess.StartAsync(new MemcachedProcessOptions
            {
                TlsCertificateFile = tls ? certificates.ServerCertificateFile : null,
                TlsKeyFile = tls ? certificates.ServerKeyFile : null,
                AuthFile = authFile,
                StartTimeout = TimeSpan.FromSeconds(15),
            });
            return new SecuredServer(process, certificates);
        }
        catch
        {
            certificates.Dispose();
            throw;
        }
    }

    /// <summary>Options for a client of this server alone, with generous timeouts (the TLS handshake is slow on a loaded machine).</summary>
    public MemcachedClientOptions Options(Action<MemcachedClientOptions>? configure = null)
    {
        var options = new MemcachedClientOptions
        {
            ConnectTimeout = TimeSpan.FromSeconds(10),
            OperationTimeout = TimeSpan.FromSeconds(5),
        };
        options.Servers.Add(EndPoint);
        configure?.Invoke(options);
        return options;
    }

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        Certificates.Dispose();
    }
}
