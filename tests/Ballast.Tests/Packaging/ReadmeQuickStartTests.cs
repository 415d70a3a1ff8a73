using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Ballast.Tests.Support;

namespace Ballast.Tests.Packaging;

/// <summary>
/// A stranger's first hour, as a test: the README's quick start followed step by step (its commands, its
/// appsettings.json, its Program.cs, read from the README itself) in a new project whose Ballast packages come from
/// a local <c>dotnet pack</c> of this repository and whose other packages come from the registry, built and run
/// against three real memcached servers. Once with every Microsoft.Extensions.* package the app uses pinned at 10.0.0,
/// once at the newest the registry serves. Each step is bounded in time; the temporary folders go.
/// </summary>
[Collection(Extensions.ApplicationCollection.Name)]
public sealed partial class ReadmeQuickStartTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("ballast-readme-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by a process that is exiting: the OS's temporary folder takes it.
        }
    }

    private const string WebApp = "## Quick start: ASP.NET Core";
    private const string Worker = "## Quick start: a worker service";

    [Theory]
    [InlineData(WebApp, "newest")]
    [InlineData(WebApp, "10.0.0")]
    [InlineData(Worker, "10.0.0")]
    public async Task The_quick_start_builds_and_runs_from_packed_packages_on_Microsoft_Extensions(string section, string extensionsVersion)
    {
        var readme = QuickStart.Read(Path.Combine(SolutionDirectory(), "README.md"), section);
        var feed = Path.Combine(_root, "feed");
        await PackAsync(feed);
        await File.WriteAllTextAsync(Path.Combine(_root, "NuGet.Config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
            </configuration>
            """);

        // The README's commands, in order (the test starts its own memcached servers on free ports instead).
        var project = _root;
        foreach (var step in readme.Commands)
        {
            if (step.StartsWith("cd ", StringComparison.Ordinal))
            {
                project = Path.Combine(project, step[3..].Trim());
            }
            else if (step.StartsWith("dotnet ", StringComparison.Ordinal))
            {
                var run = await RunAsync(project, step[7..].Split(' ', StringSplitOptions.RemoveEmptyEntries), TimeSpan.FromMinutes(3));
                Assert.True(run.ExitCode == 0, $"{step}\n{run.Output}");
            }
        }

        // "newest" is the README as written: `dotnet add package` takes the newest HybridCache, which brings the newest
        // Microsoft.Extensions.* with it. Otherwise the application keeps its Microsoft.Extensions.* packages at one
        // version: each one Ballast.Extensions depends on, HybridCache, and the worker's host, pinned there. At 10.0.0
        // a dependency of Ballast.Extensions above it is NU1605 (a package downgrade), an error: in a worker, that
        // is; a web app's framework reference prunes those packages from the graph.
        if (extensionsVersion != "newest")
        {
            Pin(Directory.GetFiles(project, "*.csproj").Single(), ExtensionsDependencies(feed).Append("Microsoft.Extensions.Caching.Hybrid").Append("Microsoft.Extensions.Hosting"), extensionsVersion);
        }

        await using var servers = await MemcachedServers.StartAsync(3);
        var pool = string.Join(",", servers.EndPoints);
        await File.WriteAllTextAsync(Path.Combine(project, "appsettings.json"), readme.AppSettings.Replace(readme.AppSettingsServers, pool, StringComparison.Ordinal));
        await File.WriteAllTextAsync(Path.Combine(project, "Program.cs"), readme.Program);

        var build = await RunAsync(project, ["build", "-c", "Release", "-nologo"], TimeSpan.FromMinutes(4));
        Assert.True(build.ExitCode == 0, build.Output);
        var assets = await File.ReadAllTextAsync(Path.Combine(project, "obj", "project.assets.json"));
        var resolved = AssetVersion().Match(assets);
        Assert.True(resolved.Success, "Microsoft.Extensions.Caching.Abstractions is not in the restore graph");
        var version = resolved.Groups["version"].Value;
        if (extensionsVersion == "newest")
        {
            // Above what Ballast.Extensions asks for: the application's newer packages win, and Ballast runs on them.
            Assert.True(Version.Parse(version) > Version.Parse("10.0.0"), version);
        }
        else
        {
            Assert.Equal(extensionsVersion, version);
        }

        if (section == Worker)
        {
            // The worker checks health once, right after it starts. The first frontend of a brand-new pool flushes
            // every server before its first view read completes, which a loaded machine can stretch past that check:
            // the pool here has had a frontend before, as a pool an application joins usually has.
            await using (var earlier = new MemcachedClient(servers.Options()))
            {
                await earlier.GetAsync("joined");
                Assert.True(await Integrity.IntegrityHarness.WaitUntilAsync(() => earlier.IsSharedViewFresh, TimeSpan.FromSeconds(30)));
            }

            var worker = await RunAsync(project, ["run", "--no-build", "-c", "Release"], TimeSpan.FromMinutes(1));
            Assert.True(worker.ExitCode == 0, worker.Output);
            var lines = worker.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => !l.StartsWith("info:", StringComparison.Ordinal) && !l.StartsWith("Microsoft.Hosting", StringComparison.Ordinal)).ToList();
            Assert.Contains(lines, l => DateTime.TryParse(l, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.RoundtripKind, out _));
            Assert.Contains("Healthy", lines);
            return;
        }

        var port = FreePort();
        using var app = Start(project, port);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
            var health = await PollAsync(http, "/health", TimeSpan.FromSeconds(60), app);
            Assert.Equal("Healthy", health);
            var first = await http.GetStringAsync(new Uri("/time", UriKind.Relative));
            var second = await http.GetStringAsync(new Uri("/time", UriKind.Relative));
            Assert.Equal(first, second);
            Assert.True(DateTime.TryParse(first, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.RoundtripKind, out _), first);
        }
        finally
        {
            app.Kill(entireProcessTree: true);
            await app.WaitForExitAsync();
        }
    }

    /// <summary>Packs the three libraries, as built by this test run, into <paramref name="feed"/>.</summary>
    private async Task PackAsync(string feed)
    {
        var configuration = typeof(ReadmeQuickStartTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        foreach (var project in new[] { "Ballast/Ballast.csproj", "Ballast.Extensions/Ballast.Extensions.csproj", "Ballast.SharedView.Etcd/Ballast.SharedView.Etcd.csproj" })
        {
            var pack = await RunAsync(SolutionDirectory(), ["pack", Path.Combine(SolutionDirectory(), "src", project), "-c", configuration, "--no-build", "-o", feed, "-nologo"], TimeSpan.FromMinutes(4));
            Assert.True(pack.ExitCode == 0, pack.Output);
        }
    }

    /// <summary>The Microsoft.Extensions.* packages the packed Ballast.Extensions depends on, from its nuspec.</summary>
    private static IEnumerable<string> ExtensionsDependencies(string feed)
    {
        using var package = ZipFile.OpenRead(Directory.GetFiles(feed, "Ballast.Extensions.*.nupkg").Single(f => !f.EndsWith(".snupkg", StringComparison.Ordinal)));
        using var nuspec = package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        return XDocument.Load(nuspec).Descendants().Where(e => e.Name.LocalName == "dependency")
            .Select(e => (string)e.Attribute("id")!)
            .Where(id => id.StartsWith("Microsoft.Extensions.", StringComparison.Ordinal))
            .Distinct()
            .ToList();
    }

    /// <summary>Sets (or adds) a PackageReference to each package at <paramref name="version"/> in the project file.</summary>
    private static void Pin(string csproj, IEnumerable<string> packages, string version)
    {
        var document = XDocument.Load(csproj);
        var group = new XElement("ItemGroup");
        foreach (var id in packages)
        {
            var existing = document.Descendants("PackageReference").FirstOrDefault(e => string.Equals((string?)e.Attribute("Include"), id, StringComparison.OrdinalIgnoreCase));
            if (existing is not null)
            {
                existing.SetAttributeValue("Version", version);
            }
            else
            {
                group.Add(new XElement("PackageReference", new XAttribute("Include", id), new XAttribute("Version", version)));
            }
        }

        document.Root!.Add(group);
        document.Save(csproj);
    }

    private static Process Start(string project, int port)
    {
        var start = new ProcessStartInfo("dotnet", ["run", "--no-build", "-c", "Release", "--no-launch-profile"])
        {
            WorkingDirectory = project,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        DotnetCommand.Quiet(start);
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task<string> PollAsync(HttpClient http, string path, TimeSpan limit, Process app)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            Assert.False(app.HasExited, $"the app exited with {(app.HasExited ? app.ExitCode : 0)}");
            try
            {
                using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
                var body = await response.Content.ReadAsStringAsync();
                if (body == "Healthy" || deadline.Elapsed > limit)
                {
                    return body;
                }
            }
            catch (HttpRequestException) when (deadline.Elapsed < limit)
            {
                // Not listening yet.
            }

            await Task.Delay(250);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// dotnet in <paramref name="directory"/>. Packages restore into a folder of this test's own: nothing from an
    /// earlier run (or a Ballast package of the same version restored elsewhere) can stand in for what was packed here.
    /// </summary>
    private Task<(int ExitCode, string Output)> RunAsync(string directory, string[] arguments, TimeSpan limit)
        => DotnetCommand.RunAsync("dotnet", arguments, limit, directory, new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(_root, "packages") });

    private static string SolutionDirectory() => DotnetCommand.SolutionDirectory();

    [GeneratedRegex(@"""Microsoft\.Extensions\.Caching\.Abstractions/(?<version>[0-9][^""]*)""")]
    private static partial Regex AssetVersion();

    [Fact]
    public void The_quick_start_section_has_the_commands_settings_and_program_the_test_follows()
    {
        // The control of the test above: it reads what it runs from the README, so a README without them fails here
        // first, with a message that says what is missing.
        var readme = QuickStart.Read(Path.Combine(SolutionDirectory(), "README.md"), WebApp);
        Assert.Contains("dotnet add package Ballast.Extensions", readme.Commands);
        Assert.Contains("dotnet add package Microsoft.Extensions.Caching.Hybrid", readme.Commands);
        Assert.Contains(readme.AppSettingsServers, readme.AppSettings, StringComparison.Ordinal);
        Assert.Equal(3, readme.AppSettingsServers.Split(',').Length);
        Assert.Contains("AddBallast(builder.Configuration.GetSection(\"Ballast\"))", readme.Program, StringComparison.Ordinal);
        Assert.Contains("AddHybridCache()", readme.Program, StringComparison.Ordinal);
        Assert.Contains("using Microsoft.Extensions.Caching.Hybrid;", readme.Program, StringComparison.Ordinal);
        Assert.Contains("Host.CreateApplicationBuilder(args)", QuickStart.Read(Path.Combine(SolutionDirectory(), "README.md"), Worker).Program, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => QuickStart.Parse("# A README\n\nNo quick start here.\n", WebApp));
    }
}
