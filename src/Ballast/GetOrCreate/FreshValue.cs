namespace Ballast.GetOrCreate;

/// <summary>
/// A value and the moment it reflects (a <see cref="TimeProvider"/> timestamp): when the cache read that found it
/// began, or when the factory that made it was called. A caller may be handed the value only if it began no later
/// than that moment: an invalidation that completed before the caller began is then reflected in it.
/// </summary>
/// <typeparam name="T">The value's type.</typeparam>
/// <param name="Value">The value.</param>
/// <param name="ValidAsOf">The moment it reflects.</param>
internal readonly record struct FreshValue<T>(T Value, long ValidAsOf);
