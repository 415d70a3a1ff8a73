using System.CommandLine;
using Ballast.Cli.Commands;

// Minimal root: only `bench` is registered here; the other commands are registered by the CLI's root factory.
var root = new RootCommand("ballast: a command-line tool for memcached pools.")
{
    BenchCommand.Create(),
};
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
