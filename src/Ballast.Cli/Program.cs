using System.CommandLine;
using System.Runtime.InteropServices;
using Ballast.Cli.Commands;

// Minimal root: chaos and demo. The other commands (get, set, ..., bench) are registered when their branches merge.
var root = new RootCommand("ballast: a memcached client toolkit whose failures are cache misses, never stale values.")
{
    ChaosCommand.Create(),
    DemoCommand.Create(),
};

// Ctrl+C and SIGTERM cancel the running command, which then stops its workers and kills the memcached servers it
// started; without this, SIGTERM ends the process at once and leaves them running. A second signal ends it at once.
using var cancel = new CancellationTokenSource();
void OnSignal(PosixSignalContext context)
{
    if (!cancel.IsCancellationRequested)
    {
        context.Cancel = true;
        cancel.Cancel();
    }
}

using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, cancel.Token).ConfigureAwait(false);
