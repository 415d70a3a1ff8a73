namespace Ballast.Simulation.Runtime;

/// <summary>A call into the simulation from a thread other than its loop's: where it came in, from which thread, and its stack.</summary>
internal sealed record DeterminismLeak(string EntryPoint, int ThreadId, long At, string Stack);
