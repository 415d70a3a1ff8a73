using Ballast.Pool;

namespace Ballast.SharedView;

/// <summary>What a view store is built from: the pool, this frontend, the servers with records, and the timing.</summary>
/// <param name="PoolName">The pool's name (the records' prefix).</param>
/// <param name="FrontendId">This frontend, as records and locks name it.</param>
/// <param name="Servers">Every server with a record (main then gutter), in view order; a store flushes lost ones.</param>
/// <param name="Endpoints">The coordination service's endpoints, for stores that use one.</param>
/// <param name="Bound">The view's bound B: how long a frontend may read without hearing from the store.</param>
/// <param name="LockTimeToLive">How long locks live.</param>
/// <param name="Time">The clock.</param>
/// <param name="Credentials">The coordination service's user and password, when it requires them.</param>
/// <param name="Seal">How records and lock values are sealed (the pool's secret); null for none.</param>
internal sealed record ViewStoreContext(string PoolName, string FrontendId, IReadOnlyList<ServerNode> Servers, IReadOnlyList<string> Endpoints, TimeSpan Bound, TimeSpan LockTimeToLive, TimeProvider Time, EtcdCredentials? Credentials = null, ViewRecordSeal? Seal = null);
