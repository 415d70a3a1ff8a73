using System.Runtime.InteropServices;
using Ballast.Cli;

// Ctrl+C and SIGTERM cancel the running command, which then stops its workers and kills the memcached servers it
// started (chaos, bench, demo); without this, SIGTERM ends the process at once and leaves them running. A second
// signal ends it at once.
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

// Everything lives in RootCommandFactory (the command tree) and Commands/ (one file per command), so tests can run
// the very same code in-process with their own streams.
return await RootCommandFactory.RunAsync(args, CliConsole.System(), cancel.Token).ConfigureAwait(false);
