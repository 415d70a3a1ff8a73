using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Ballast.Tests.Distribution;

/// <summary>
/// Eight real <c>memcached</c> processes on distinct loopback addresses (127.0.0.2 to 127.0.0.9), half of them on port
/// 11211 where that port is free, so that libmemcached's ketama point names are exercised in both forms
/// (<c>host-i</c> for 11211, <c>host:port-i</c> otherwise). Linux routes all of 127.0.0.0/8 to the loopback interface.
/// Every process is killed in <see cref="Dispose"/>, whatever the tests did.
/// </summary>
public sealed class MemcachedProcessFixture : IDisposable
{
    private const string MemcachedPath = "/usr/bin/memcached";
    private readonly List<Process> _processes = [];

    /// <summary>Starts the servers; throws (failing the tests) if one does not accept connections.</summary>
    public MemcachedProcessFixture()
    {
        try
        {
            for (var i = 0; i < 8; i++)
            {
                var address = IPAddress.Parse(string.Create(CultureInfo.InvariantCulture, $"127.0.0.{i + 2}"));
                var preferDefault = i % 2 == 0;
                Servers.Add(StartOne(address, preferDefault));
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The running servers, weight 1 (scenarios choose their own weights).</summary>
    public List<ServerEndPoint> Servers { get; } = [];

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var process in _processes)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(5000);
                }
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
            finally
            {
                process.Dispose();
            }
        }

        _processes.Clear();
    }

    private ServerEndPoint StartOne(IPAddress address, bool preferDefaultPort)
    {
        Exception? last = null;
        for (var attempt = 0; attempt < 5; attempt++)
        {
            // First choice 11211 when asked for and free on that address; otherwise a port the kernel hands out.
            var port = preferDefaultPort && attempt == 0 && IsFree(address, ServerEndPoint.DefaultPort)
                ? ServerEndPoint.DefaultPort
                : FreePort(address);
            var process = Launch(address, port);
            _processes.Add(process);
            try
            {
                WaitUntilAccepting(process, address, port);
                return new ServerEndPoint(address.ToString(), port);
            }
            catch (InvalidOperationException e)
            {
                // Lost a race for the port, most likely: try another one.
                last = e;
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }

                process.WaitForExit(5000);
                _processes.Remove(process);
                process.Dispose();
            }
        }

        throw new InvalidOperationException($"Could not start memcached on {address}.", last);
    }

    private static Process Launch(IPAddress address, int port)
    {
        var start = new ProcessStartInfo(MemcachedPath)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "-l", address.ToString(), "-p", port.ToString(CultureInfo.InvariantCulture), "-U", "0", "-m", "64" })
        {
            start.ArgumentList.Add(arg);
        }

        // memcached refuses to run as root unless told which user to stay.
        if (Environment.UserName == "root")
        {
            start.ArgumentList.Add("-u");
            start.ArgumentList.Add("root");
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("memcached did not start.");
        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static void WaitUntilAccepting(Process process, IPAddress address, int port)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"memcached on {address}:{port} exited with code {process.ExitCode}.");
            }

            try
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Connect(address, port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(20);
            }
        }

        throw new InvalidOperationException($"memcached on {address}:{port} did not accept connections within 10 s.");
    }

    private static bool IsFree(IPAddress address, int port)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(address, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FreePort(IPAddress address)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(address, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
