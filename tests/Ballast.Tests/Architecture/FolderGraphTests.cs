using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Ballast.Tests.Architecture;

/// <summary>
/// The folders of src/Ballast are its architecture (protocol, connections, pool, shared view, invalidation, failback,
/// failover, coordination, the client on top), and they must form a graph without cycles: a folder may use the
/// folders below it, never one that uses it back. Checked with the compiler's own binding of every name in the
/// library, so a reference hidden behind a `using` or a partial class still counts.
/// </summary>
public sealed class FolderGraphTests(ITestOutputHelper output)
{
    [Fact]
    public void The_folders_of_the_library_form_no_cycle()
    {
        var graph = FolderGraph.Build(FolderGraph.LibraryRoot());
        foreach (var (from, to) in graph.OrderBy(e => e.Key))
        {
            output.WriteLine($"{from} -> {string.Join(", ", to.Keys.Order())}");
        }

        var cycles = FolderGraph.Cycles(graph);
        Assert.True(cycles.Count == 0, "Folder cycles: " + string.Join("; ", cycles.Select(c => string.Join(" <-> ", c) + " (" + FolderGraph.Explain(graph, c) + ")")));
    }

    [Fact]
    public void The_check_finds_a_cycle_when_there_is_one()
    {
        // The control: two folders that use each other.
        var graph = new Dictionary<string, Dictionary<string, List<string>>>
        {
            ["Pool"] = new() { ["SharedView"] = ["ServerPool uses ClusterView"] },
            ["SharedView"] = new() { ["Pool"] = ["MemcachedViewStore uses ServerNode"] },
            ["Protocol"] = [],
        };
        Assert.Single(FolderGraph.Cycles(graph));
    }

    /// <summary>Who uses whom among the folders of the library, from the compiler's binding of every name.</summary>
    internal static class FolderGraph
    {
        public static string LibraryRoot()
        {
            var dir = AppContext.BaseDirectory;
            while (dir is not null && !File.Exists(Path.Combine(dir, "Ballast.slnx")))
            {
                dir = Path.GetDirectoryName(dir);
            }

            return Path.Combine(dir ?? throw new DirectoryNotFoundException("Ballast.slnx not found above the test's directory."), "src", "Ballast");
        }

        public static Dictionary<string, Dictionary<string, List<string>>> Build(string root)
        {
            var files = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
                .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                    && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
                .ToArray();
            var parse = new CSharpParseOptions(LanguageVersion.Preview);
            var trees = files.Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), parse, path: f)).ToArray();
            var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
                .Concat(Directory.EnumerateFiles(AppContext.BaseDirectory, "Microsoft.Extensions.*.dll"))
                .Distinct(StringComparer.Ordinal)
                .Select(p => MetadataReference.CreateFromFile(p));
            var compilation = CSharpCompilation.Create("FolderGraph", trees.Append(CSharpSyntaxTree.ParseText("global using System; global using System.IO; global using System.Linq; global using System.Collections.Generic; global using System.Threading; global using System.Threading.Tasks; global using System.Net.Http;", parse)), references, new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: true));

            // Names bind only in a compilation that compiles: an unbound name would hide an edge. (CS8795: the logging
            // source generator does not run here; its partial methods bind all the same.)
            var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error && d.Id != "CS8795").Take(5).ToArray();
            if (errors.Length > 0)
            {
                throw new InvalidOperationException("The library does not compile on its own here: " + string.Join("; ", errors.Select(e => e.ToString())));
            }

            var graph = new Dictionary<string, Dictionary<string, List<string>>>(StringComparer.Ordinal);
            foreach (var tree in trees)
            {
                var from = FolderOf(root, tree.FilePath);
                graph.TryAdd(from, new Dictionary<string, List<string>>(StringComparer.Ordinal));
                var model = compilation.GetSemanticModel(tree);
                foreach (var name in tree.GetRoot().DescendantNodes().OfType<SimpleNameSyntax>())
                {
                    var symbol = model.GetSymbolInfo(name).Symbol;
                    var type = symbol as INamedTypeSymbol ?? symbol?.ContainingType;
                    while (type?.ContainingType is { } outer)
                    {
                        type = outer;
                    }

                    if (type is null)
                    {
                        continue;
                    }

                    foreach (var declaration in type.DeclaringSyntaxReferences)
                    {
                        var path = declaration.SyntaxTree.FilePath;
                        if (!path.StartsWith(root, StringComparison.Ordinal))
                        {
                            continue;
                        }

                        var to = FolderOf(root, path);
                        if (to != from)
                        {
                            var why = graph[from].TryGetValue(to, out var list) ? list : graph[from][to] = [];
                            if (why.Count < 3)
                            {
                                why.Add($"{Path.GetFileName(tree.FilePath)} uses {type.Name}");
                            }
                        }
                    }
                }
            }

            return graph;
        }

        /// <summary>The strongly connected components of more than one folder (Tarjan).</summary>
        public static List<List<string>> Cycles(Dictionary<string, Dictionary<string, List<string>>> graph)
        {
            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            var low = new Dictionary<string, int>(StringComparer.Ordinal);
            var stack = new Stack<string>();
            var onStack = new HashSet<string>(StringComparer.Ordinal);
            var result = new List<List<string>>();
            var counter = 0;

            void Visit(string v)
            {
                index[v] = low[v] = counter++;
                stack.Push(v);
                onStack.Add(v);
                foreach (var w in graph.TryGetValue(v, out var edges) ? edges.Keys : Enumerable.Empty<string>())
                {
                    if (!index.ContainsKey(w))
                    {
                        Visit(w);
                        low[v] = Math.Min(low[v], low[w]);
                    }
                    else if (onStack.Contains(w))
                    {
                        low[v] = Math.Min(low[v], index[w]);
                    }
                }

                if (low[v] == index[v])
                {
                    var component = new List<string>();
                    string w;
                    do
                    {
                        w = stack.Pop();
                        onStack.Remove(w);
                        component.Add(w);
                    }
                    while (w != v);
                    if (component.Count > 1)
                    {
                        result.Add(component);
                    }
                }
            }

            foreach (var v in graph.Keys.Order(StringComparer.Ordinal))
            {
                if (!index.ContainsKey(v))
                {
                    Visit(v);
                }
            }

            return result;
        }

        public static string Explain(Dictionary<string, Dictionary<string, List<string>>> graph, List<string> cycle)
            => string.Join("; ", cycle.SelectMany(a => cycle.Where(b => graph.TryGetValue(a, out var e) && e.ContainsKey(b)).Select(b => $"{a}->{b}: {string.Join(", ", graph[a][b])}")));

        private static string FolderOf(string root, string path)
        {
            var relative = Path.GetRelativePath(root, Path.GetDirectoryName(path)!);
            return relative == "." ? "(client)" : relative.Split(Path.DirectorySeparatorChar)[0];
        }
    }
}
