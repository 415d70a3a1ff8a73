using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Ballast;

/// <summary>
/// TLS for every connection (memcached <c>-Z</c>). The handshake runs inside the connect timeout; a certificate that
/// fails validation ends it with a <see cref="MemcachedTlsException"/> naming the server and the reason.
/// </summary>
public sealed class TlsOptions
{
    /// <summary>Whether connections use TLS. Default false (plain TCP, which anyone on the path can read and change).</summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// The host name the server's certificate must carry (and the SNI name sent). Default null: each server's own host
    /// as written in its <see cref="ServerEndPoint"/> (an IP address is then checked against the certificate's IP SANs).
    /// </summary>
    public string? TargetHost { get; set; }

    /// <summary>
    /// A PEM file of the certificate authorities to trust instead of the system store: a private CA that signed the
    /// servers' certificates. Default null: the system store. Read when the client is created.
    /// </summary>
    public string? CertificateAuthorityFile { get; set; }

    /// <summary>A client certificate with its private key, for servers that verify clients (mutual TLS, memcached's <c>ssl_verify_mode</c>). Default null.</summary>
    public X509Certificate2? ClientCertificate { get; set; }

    /// <summary>
    /// Decides whether a server's certificate is accepted, replacing Ballast's own check (chain to a trusted authority,
    /// host name). Default null. The <see cref="SslPolicyErrors"/> passed in are those of Ballast's check, so a callback
    /// can relax one rule and keep the others.
    /// </summary>
    public RemoteCertificateValidationCallback? ServerCertificateValidation { get; set; }

    /// <summary>The TLS versions allowed. Default <see cref="SslProtocols.None"/>: the operating system's choice (TLS 1.2 and 1.3).</summary>
    public SslProtocols EnabledProtocols { get; set; } = SslProtocols.None;

    /// <summary>Whether the server's certificate chain is checked against revocation lists. Default false (private fleets rarely publish them).</summary>
    public bool CheckCertificateRevocation { get; set; }

    /// <summary>The authorities read from <see cref="CertificateAuthorityFile"/>; null for the system store.</summary>
    internal X509Certificate2Collection? LoadedAuthorities { get; private set; }

    internal void Validate()
    {
        if (!Enabled)
        {
            return;
        }

        if (TargetHost is { } host && (host.Length == 0 || host.Any(c => char.IsControl(c) || char.IsWhiteSpace(c))))
        {
            throw new ArgumentException($"The option Tls.TargetHost must be a host name without spaces or control characters; it is '{host.ReplaceLineEndings(" ")}'.", nameof(TargetHost));
        }

        if (CertificateAuthorityFile is { } file)
        {
            var authorities = new X509Certificate2Collection();
            try
            {
                authorities.ImportFromPemFile(file);
            }
            catch (Exception error) when (error is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                throw new ArgumentException($"The option Tls.CertificateAuthorityFile '{file}' cannot be read as PEM certificates: {error.Message}", nameof(CertificateAuthorityFile), error);
            }

            if (authorities.Count == 0)
            {
                throw new ArgumentException($"The option Tls.CertificateAuthorityFile '{file}' holds no PEM certificate.", nameof(CertificateAuthorityFile));
            }

            LoadedAuthorities = authorities;
        }
    }

    /// <summary>A copy for a client's snapshot of its options.</summary>
    internal TlsOptions Copy() => (TlsOptions)MemberwiseClone();
}
