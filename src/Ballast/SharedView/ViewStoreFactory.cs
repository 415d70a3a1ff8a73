using System.Diagnostics.CodeAnalysis;
using System.Reflection;

namespace Ballast.SharedView;

/// <summary>
/// Builds the stores that live in their own packages, so the core package carries no gRPC: the etcd store is found
/// by name in <c>Ballast.SharedView.Etcd</c>, which must be installed beside Ballast.
/// </summary>
internal static class ViewStoreFactory
{
    private const string EtcdAssembly = "Ballast.SharedView.Etcd";
    private const string EtcdType = "Ballast.SharedView.Etcd.EtcdViewStore";

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "The etcd store is loaded by name only when configured; trimmed or AOT apps reference the package, which roots it.")]
    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "As above: the type's public constructor is kept by the package reference.")]
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "No generic instantiation is created.")]
    public static IViewStore CreateEtcd(ViewStoreContext context)
    {
        Type? type;
        try
        {
            type = Assembly.Load(EtcdAssembly).GetType(EtcdType);
        }
        catch (FileNotFoundException error)
        {
            throw new InvalidOperationException($"SharedView.Store is Etcd, which needs the package {EtcdAssembly} (not found: {error.Message}).", error);
        }

        if (type is null || Activator.CreateInstance(type, context) is not IViewStore store)
        {
            throw new InvalidOperationException($"SharedView.Store is Etcd, but {EtcdAssembly} has no usable {EtcdType}.");
        }

        return store;
    }
}
