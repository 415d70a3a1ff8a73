using System.Runtime.InteropServices;

namespace Ballast.FaultInjection;

/// <summary>The few libc calls the kit needs that .NET does not expose: signals other than SIGKILL, and the effective user id.</summary>
internal static partial class NativeMethods
{
    // Linux x86-64 / arm64 numbers. Pausing and resuming a server is the whole point of SIGSTOP/SIGCONT here:
    // a stopped process keeps its sockets, so the kernel still completes handshakes and queues bytes, but nothing answers.
    internal const int SigKill = 9;
    internal const int SigCont = 18;
    internal const int SigStop = 19;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
#pragma warning disable SYSLIB1054 // LibraryImport needs AllowUnsafeBlocks; a plain DllImport of two ints marshals without it.
    private static extern int SysKill(int pid, int signal);

    [DllImport("libc", EntryPoint = "geteuid", SetLastError = false)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern uint SysGetEuid();
#pragma warning restore SYSLIB1054

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; returns false (with the errno) when the process is gone.</summary>
    internal static bool TrySignal(int pid, int signal, out int errno)
    {
        var result = SysKill(pid, signal);
        errno = result == 0 ? 0 : Marshal.GetLastPInvokeError();
        return result == 0;
    }

    /// <summary>True when this process runs as root, in which case memcached insists on being told which user to run as.</summary>
    internal static bool IsRoot()
    {
        if (OperatingSystem.IsWindows())
        {
            return false;
        }

        try
        {
            return SysGetEuid() == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // No libc by that name: fall back on the name, which is right in every container we run in.
            return string.Equals(Environment.UserName, "root", StringComparison.Ordinal);
        }
    }
}
