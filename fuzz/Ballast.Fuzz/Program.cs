using Ballast.Fuzz;
using SharpFuzz;

// AFL++ runs this process (scripts/fuzz.sh) against an instrumented Ballast.dll and feeds it inputs through SharpFuzz.
// "--replay DIR..." runs every file of the given folders once instead (the corpus and the crashes found so far), so a
// crash can be reproduced and debugged without AFL.
if (args is ["--replay", .. var folders])
{
    var count = 0;
    foreach (var file in folders.Where(Directory.Exists).SelectMany(Directory.EnumerateFiles).Where(f => !f.EndsWith(".md", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
    {
        ResponseParserHarness.Run(File.ReadAllBytes(file));
        count++;
    }

    Console.WriteLine($"replayed {count} inputs without a crash");
    return 0;
}

// BALLAST_FUZZ_PLANTED_BUG=1 plants a crash (any input holding a multi-get's end, "MN"), to show that a run of
// scripts/fuzz.sh finds and reports one: the control for the fuzzing run itself.
var plantedBug = Environment.GetEnvironmentVariable("BALLAST_FUZZ_PLANTED_BUG") == "1";
Fuzzer.OutOfProcess.Run(stream =>
{
    using var copy = new MemoryStream();
    stream.CopyTo(copy);
    var input = copy.GetBuffer().AsSpan(0, (int)copy.Length);
    if (plantedBug && input.IndexOf("MN"u8) >= 0)
    {
        throw new InvalidOperationException("planted bug");
    }

    ResponseParserHarness.Run(input);
});
return 0;
