using Ballast.Cli;

// Everything lives in RootCommandFactory (the command tree) and Commands/ (one file per command), so tests can run
// the very same code in-process with their own streams.
return await RootCommandFactory.RunAsync(args, CliConsole.System()).ConfigureAwait(false);
