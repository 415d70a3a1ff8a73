namespace Ballast.Simulation.Server;

/// <summary>memcached's <c>struct _meta_flags</c>, filled by <see cref="MetaProtocol"/>'s port of <c>_meta_flag_preparse</c>.</summary>
internal struct MetaFlags
{
    public bool HasError;
    public bool Value;
    public bool Vivify;
    public bool Locked;
    public bool NoUpdate;
    public bool NoReply;
    public bool HasCas;
    public bool NewTtl;
    public bool SetStale;
    public bool KeyBinary;
    public byte Mode;
    public uint Exptime;
    public uint AutovivExptime;
    public uint RecacheTime;
    public uint ClientFlags;
    public ulong RequestCas;
    public ulong Delta;
    public ulong Initial;
}
