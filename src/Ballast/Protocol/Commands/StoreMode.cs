namespace Ballast.Protocol.Commands;

/// <summary>The <c>M</c> flag of <c>ms</c>.</summary>
internal enum StoreMode : byte
{
    Set = (byte)'S',
    Add = (byte)'E',
    Replace = (byte)'R',
    Append = (byte)'A',
    Prepend = (byte)'P',
}
