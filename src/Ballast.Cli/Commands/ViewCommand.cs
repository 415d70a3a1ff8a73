using System.CommandLine;

namespace Ballast.Cli.Commands;

/// <summary>
/// <c>ballast view init</c> and <c>ballast view show</c>: the operator's handle on the pool's shared view. Without
/// <c>init</c>, the first frontend of a pool flushes every server once (nothing says what they hold); with it, a warm
/// pool is adopted as it is, and frontends and monitors start without a flush.
/// </summary>
internal static class ViewCommand
{
    public static Command Create(CommonOptions common, CliConsole console)
    {
        var command = new Command("view", "Reads or initializes the pool's shared view (the per-server records every frontend agrees on).");
        command.Subcommands.Add(Init(common, console));
        command.Subcommands.Add(Show(common, console));
        return command;
    }

    private static Command Init(CommonOptions common, CliConsole console)
    {
        var (view, etcd, poolName) = StoreOptions();
        var init = new Command(
            "init",
            "Adopts a warm pool: writes the first shared-view records, every server up, without flushing anything, so the applications' " +
            "frontends and monitors start without emptying the cache. Refused (exit 1) when any record exists already or any replica does not " +
            "answer. Run it once, before the first frontend starts, with the applications' servers and settings.")
        {
            view, etcd, poolName,
        };
        CliAction.Set(init, console, async (parseResult, cancellationToken) =>
        {
            await using var client = CreateClient(common, parseResult, view, etcd, poolName);
            var (done, detail) = await client.InitializeSharedViewAsync(cancellationToken).ConfigureAwait(false);
            if (!done)
            {
                throw new CliException(ExitCodes.NotFound, $"view init: {detail}");
            }

            await console.OutputText.WriteLineAsync($"pool {client.PoolName}: {detail}").ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return init;
    }

    private static Command Show(CommonOptions common, CliConsole console)
    {
        var (view, etcd, poolName) = StoreOptions();
        var show = new Command("show", "Prints every replica's copy of every server's record, one 'SERVER<TAB>REPLICA<TAB>RECORD' line each. Writes nothing.")
        {
            view, etcd, poolName,
        };
        CliAction.Set(show, console, async (parseResult, cancellationToken) =>
        {
            await using var client = CreateClient(common, parseResult, view, etcd, poolName);
            await console.OutputText.WriteLineAsync($"pool {client.PoolName}").ConfigureAwait(false);
            foreach (var (server, replica, record) in await client.DescribeSharedViewAsync(cancellationToken).ConfigureAwait(false))
            {
                await console.OutputText.WriteLineAsync($"{server}\t{replica}\t{record ?? "no record"}").ConfigureAwait(false);
            }

            return ExitCodes.Success;
        });
        return show;
    }

    private static (Option<string?> View, Option<string?> Etcd, Option<string?> PoolName) StoreOptions()
        => (new Option<string?>("--view") { Description = "Where the shared view lives: memcached (the pool's witness servers; the default) or etcd.", HelpName = "memcached|etcd" },
            new Option<string?>("--etcd-endpoints") { Description = "With --view etcd: the etcd endpoints, http://host:port,...", HelpName = "url,..." },
            new Option<string?>("--pool-name") { Description = "The pool name (SharedView.PoolName), if the applications set one. Default: derived from --servers, as theirs is.", HelpName = "name" });

    private static MemcachedClient CreateClient(CommonOptions common, ParseResult parseResult, Option<string?> view, Option<string?> etcd, Option<string?> poolName)
        => common.CreateClient(parseResult, options =>
        {
            options.SharedView.PoolName = parseResult.GetValue(poolName);
            switch (parseResult.GetValue(view) ?? "memcached")
            {
                case "memcached":
                    break;
                case "etcd":
                    options.SharedView.UseEtcdView((parseResult.GetValue(etcd) ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                    break;
                case var other:
                    throw new CliException(ExitCodes.Usage, $"--view: '{other}' is neither memcached nor etcd.");
            }
        });
}
