using System.Text.Json.Serialization;

namespace Ballast.Simulation.Workload;

/// <summary>The JSON metadata of <c>GetOrCreateAsync&lt;string&gt;</c>, source-generated (no reflection).</summary>
[JsonSerializable(typeof(string))]
internal sealed partial class SimulationJson : JsonSerializerContext;
