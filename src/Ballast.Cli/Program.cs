using System.CommandLine;
using Ballast.Cli.Commands;

// Minimal root: chaos and demo. The other commands (get, set, ..., bench) are registered when their branches merge.
var root = new RootCommand("ballast: a memcached client toolkit whose failures are cache misses, never stale values.")
{
    ChaosCommand.Create(),
    DemoCommand.Create(),
};
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
