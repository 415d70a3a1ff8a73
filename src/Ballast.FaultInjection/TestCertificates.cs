using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Ballast.FaultInjection;

/// <summary>
/// A private certificate authority and a server certificate it signed (for localhost, 127.0.0.1 and ::1), made with
/// <see cref="CertificateRequest"/> (no openssl needed) and written as PEM files for memcached (<c>ssl_chain_cert</c>,
/// <c>ssl_key</c>, see <see cref="MemcachedProcessOptions.TlsCertificateFile"/>) and for the client (<c>--tls-ca</c>).
/// For tests and benchmarks on loopback only; the folder is deleted at disposal.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private TestCertificates(string directory) => Directory = directory;

    /// <summary>The folder holding the PEM files.</summary>
    public string Directory { get; }

    /// <summary>The authority's certificate, PEM: what a client trusts.</summary>
    public string AuthorityFile => Path.Combine(Directory, "ca.crt");

    /// <summary>The server's certificate, PEM.</summary>
    public string ServerCertificateFile => Path.Combine(Directory, "server.crt");

    /// <summary>The server's private key, PEM.</summary>
    public string ServerKeyFile => Path.Combine(Directory, "server.key");

    /// <summary>Another authority's certificate, PEM, that signed nothing here: trusting it must not make the server trusted.</summary>
    public string OtherAuthorityFile => Path.Combine(Directory, "other-ca.crt");

    /// <summary>Makes the authorities and the server certificate in a new temporary folder.</summary>
    public static TestCertificates Create()
    {
        var directory = Path.Combine(Path.GetTempPath(), "ballast-tls-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var certificates = new TestCertificates(directory);

        using var authorityKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var authority = SelfSignedAuthority("CN=Ballast Test CA", authorityKey);
        File.WriteAllText(certificates.AuthorityFile, authority.ExportCertificatePem());

        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = SelfSignedAuthority("CN=Ballast Other CA", otherKey);
        File.WriteAllText(certificates.OtherAuthorityFile, other.ExportCertificatePem());

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var now = DateTimeOffset.UtcNow;
        using var server = request.Create(authority, now.AddMinutes(-5), now.AddDays(2), [1, 2, 3, 4, 5, 6, 7, 8]);
        File.WriteAllText(certificates.ServerCertificateFile, server.ExportCertificatePem());
        File.WriteAllText(certificates.ServerKeyFile, serverKey.ExportPkcs8PrivateKeyPem());
        return certificates;
    }

    /// <summary>Deletes the folder.</summary>
    public void Dispose()
    {
        GC.SuppressFinalize(this);
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static X509Certificate2 SelfSignedAuthority(string subject, ECDsa key)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-10), now.AddDays(3));
    }
}
