namespace Ballast.SharedView;

/// <summary>The outcome of publishing a view record: replicas that hold it, and a newer record that overrules it, if any.</summary>
internal readonly record struct PublishResult(int Holding, ViewEntry? Contradiction);
