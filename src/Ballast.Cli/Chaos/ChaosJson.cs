using System.Text.Json.Serialization;

namespace Ballast.Cli.Chaos;

/// <summary>The workload's GetOrCreate values (strings), serialized without reflection.</summary>
[JsonSerializable(typeof(string))]
internal sealed partial class ChaosJson : JsonSerializerContext;
