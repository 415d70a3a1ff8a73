using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Ballast.Connections;

/// <summary>Opening a connection: TCP, then the TLS handshake, then the login, all inside the connect timeout.</summary>
internal sealed partial class MetaConnection
{
    // The login answer is one short line ("STORED" or "CLIENT_ERROR authentication failure").
    private const int MaxLoginAnswerLength = 256;

    /// <summary>Opens a connection, failing after the connect timeout (TLS handshake and login included).</summary>
    /// <exception cref="ServerUnavailableException">The connection was refused, reset or timed out.</exception>
    /// <exception cref="MemcachedTlsException">The TLS handshake failed (an untrusted certificate, say).</exception>
    /// <exception cref="MemcachedAuthenticationException">The server refused the credentials.</exception>
    public static async Task<MetaConnection> ConnectAsync(
        ServerEndPoint server,
        ServerEndPoint connectTo,
        IConnectionObserver observer,
        TimeProvider time,
        MemcachedClientOptions options,
        CancellationToken cancellationToken)
    {
        var connectTimeout = options.ConnectTimeout;
        using var timeout = new CancellationTokenSource(connectTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        Socket? socket = null;
        Stream? stream = null;
        try
        {
            stream = await options.Runtime.Transport.ConnectAsync(connectTo.Host, connectTo.Port, linked.Token).ConfigureAwait(false);
            socket = (stream as NetworkStream)?.Socket;
            if (options.Tls.Enabled)
            {
                stream = await StartTlsAsync(stream, server, options.Tls, linked.Token).ConfigureAwait(false);
            }

            if (options.Credentials is { } credentials)
            {
                await LogInAsync(stream, server, credentials, linked.Token).ConfigureAwait(false);
            }

            return new MetaConnection(stream, socket, server, observer, time, options);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            Close(stream, socket);
            throw new ServerUnavailableException($"Server {server} did not accept the connection within the connect timeout of {connectTimeout.TotalMilliseconds:0} ms (a host that is down, or a firewall that drops packets).", server);
        }
        catch (SocketException error) when (error.SocketErrorCode == SocketError.NoData)
        {
            Close(stream, socket);
            throw new ServerUnavailableException($"Server {server}: the host name resolves to no address.", server, error);
        }
        catch (SocketException error)
        {
            Close(stream, socket);
            throw new ServerUnavailableException(CannotConnect(server, connectTo, error.SocketErrorCode), server, error);
        }
        catch (IOException error)
        {
            Close(stream, socket);
            throw new ServerUnavailableException($"Server {server}: the connection failed while opening ({(error.InnerException ?? error).Message}).", server, error);
        }
        catch
        {
            Close(stream, socket);
            throw;
        }
    }

    /// <summary>Why a connection could not be opened, in words: a refusal, a name that does not resolve and the rest read differently.</summary>
    private static string CannotConnect(ServerEndPoint server, ServerEndPoint connectTo, SocketError code) => code switch
    {
        SocketError.ConnectionRefused => $"Server {server} refused the connection (nothing listens on port {connectTo.Port} of {connectTo.Host}).",
        SocketError.HostNotFound or SocketError.NoData => $"Server {server}: unknown host '{connectTo.Host}' (the name does not resolve).",
        SocketError.TryAgain => $"Server {server}: the host name '{connectTo.Host}' could not be resolved now (the name server did not answer).",
        SocketError.TimedOut => $"Server {server} did not accept the connection in time (a host that is down, or a firewall that drops packets).",
        SocketError.NetworkUnreachable or SocketError.HostUnreachable => $"Server {server} cannot be reached: no route to {connectTo.Host}.",
        _ => $"Server {server}: cannot connect ({code}).",
    };

    private static void Close(Stream? stream, Socket? socket)
    {
        stream?.Dispose();
        socket?.Dispose();
    }

    private static async Task<Stream> StartTlsAsync(Stream inner, ServerEndPoint server, TlsOptions tls, CancellationToken cancellationToken)
    {
        var targetHost = tls.TargetHost ?? server.Host;
        var verdict = new CertificateVerdict(tls.ServerCertificateValidation);
        var ssl = new SslStream(inner, leaveInnerStreamOpen: false);
        var authentication = new SslClientAuthenticationOptions
        {
            TargetHost = targetHost,
            EnabledSslProtocols = tls.EnabledProtocols,
            CertificateRevocationCheckMode = tls.CheckCertificateRevocation ? X509RevocationMode.Online : X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = verdict.Check,
        };
        if (tls.LoadedAuthorities is { } authorities)
        {
            // Trust exactly the given authorities, not the system store: a fleet's private CA, and nothing else.
            authentication.CertificateChainPolicy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                RevocationMode = tls.CheckCertificateRevocation ? X509RevocationMode.Online : X509RevocationMode.NoCheck,
            };
            authentication.CertificateChainPolicy.CustomTrustStore.AddRange(authorities);
        }

        if (tls.ClientCertificate is { } clientCertificate)
        {
            authentication.ClientCertificates = [clientCertificate];
        }

        try
        {
            await ssl.AuthenticateAsClientAsync(authentication, cancellationToken).ConfigureAwait(false);
            return ssl;
        }
        catch (AuthenticationException error)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            var reason = verdict.Failure ?? $"the handshake failed ({error.Message})";
            throw new MemcachedTlsException($"Server {server}: TLS with host name '{targetHost}' failed: {reason}.", server, verdict.Errors, error);
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// memcached's ASCII authentication (<c>-Y</c>): a <c>set</c> whose data is <c>user password</c>, sent before any
    /// request. Its expiry is -1, so a server that does not ask for authentication stores nothing readable: the item
    /// is expired the moment it is stored, and the password is never served back to anyone.
    /// </summary>
    private static async Task LogInAsync(Stream stream, ServerEndPoint server, MemcachedCredentials credentials, CancellationToken cancellationToken)
    {
        var data = Encoding.UTF8.GetBytes($"{credentials.UserName} {credentials.Password}");
        var header = Encoding.ASCII.GetBytes($"set ballast-login 0 -1 {data.Length}\r\n");
        var request = new byte[header.Length + data.Length + 2];
        header.CopyTo(request, 0);
        data.CopyTo(request, header.Length);
        "\r\n"u8.CopyTo(request.AsSpan(header.Length + data.Length));
        try
        {
            await stream.WriteAsync(request, cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // The password does not linger in memory longer than it must.
            Array.Clear(data);
            Array.Clear(request);
        }

        var answer = await ReadLoginAnswerAsync(stream, server, cancellationToken).ConfigureAwait(false);
        if (answer == "STORED")
        {
            return;
        }

        if (answer.StartsWith("CLIENT_ERROR", StringComparison.Ordinal))
        {
            throw new MemcachedAuthenticationException(
                $"Server {server} refused the login of user '{credentials.UserName}' (memcached -Y): it answered '{answer}'. Check the user and password.",
                server);
        }

        throw new MemcachedProtocolException($"Server {server} answered the login of user '{credentials.UserName}' with '{answer}', which is not a memcached answer to it.", server);
    }

    private static async Task<string> ReadLoginAnswerAsync(Stream stream, ServerEndPoint server, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxLoginAnswerLength];
        var received = 0;
        while (true)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(received), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                throw new ServerUnavailableException($"Server {server} closed the connection during the login.", server);
            }

            received += n;
            var lineEnd = buffer.AsSpan(0, received).IndexOf("\r\n"u8);
            if (lineEnd >= 0)
            {
                if (lineEnd + 2 != received)
                {
                    // Nothing was asked but the login: bytes after its answer belong to no request.
                    throw new MemcachedProtocolException($"Server {server} sent more than one line in answer to the login.", server);
                }

                return Protocol.MetaResponseParser.Shown(buffer.AsSpan(0, lineEnd));
            }

            if (received == buffer.Length)
            {
                throw new MemcachedProtocolException($"Server {server} answered the login with a line longer than {MaxLoginAnswerLength} bytes.", server);
            }
        }
    }

    /// <summary>Ballast's certificate check, remembering why it failed so the exception can say so.</summary>
    private sealed class CertificateVerdict(RemoteCertificateValidationCallback? custom)
    {
        public SslPolicyErrors Errors { get; private set; }

        public string? Failure { get; private set; }

        public bool Check(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
        {
            Errors = errors;
            if (custom is not null)
            {
                var accepted = custom(sender, certificate, chain, errors);
                Failure = accepted ? null : $"the validation callback refused the certificate '{certificate?.Subject}' ({errors})";
                return accepted;
            }

            if (errors == SslPolicyErrors.None)
            {
                return true;
            }

            var reasons = new List<string>();
            if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
            {
                reasons.Add("the server sent no certificate");
            }

            if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
            {
                reasons.Add($"the certificate '{certificate?.Subject}' is not issued for this host name");
            }

            if (errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors))
            {
                var status = chain?.ChainStatus.Select(s => s.Status.ToString()).Distinct() ?? [];
                reasons.Add($"the certificate '{certificate?.Subject}' is not trusted ({string.Join(", ", status)}); give the issuing authority with Tls.CertificateAuthorityFile (--tls-ca)");
            }

            Failure = string.Join("; ", reasons);
            return false;
        }
    }
}
