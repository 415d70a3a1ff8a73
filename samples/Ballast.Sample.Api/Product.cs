using System.Text.Json.Serialization;

namespace Ballast.Sample.Api;

/// <summary>A row of the sample's "database".</summary>
public sealed record Product(int Id, string Name, decimal Price);

/// <summary>Source-generated JSON for the sample's types: no reflection, native-AOT ready.</summary>
[JsonSerializable(typeof(Product))]
public sealed partial class SampleJsonContext : JsonSerializerContext;
