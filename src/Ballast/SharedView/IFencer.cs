namespace Ballast.SharedView;

/// <summary>Marks a server down in this frontend and, through the shared view, for every frontend of the pool.</summary>
internal interface IFencer
{
    /// <summary>
    /// Marks <paramref name="node"/> down here at once, then publishes the fence to a write quorum of the shared view.
    /// True when the fence is known to every frontend that reads the view within the bound (or there is no shared
    /// view); false when no quorum could be reached (the publish is retried in the background and the server stays
    /// down here).
    /// </summary>
    /// <param name="node">The server.</param>
    /// <param name="reason">Why (for the event and the log).</param>
    /// <param name="detail">What happened, if known.</param>
    /// <param name="cancellationToken">The lifetime of the work (the client's, never a caller's).</param>
    /// <param name="markedDownByCaller">True when the caller already marked it down here (a detector), so the event is raised all the same.</param>
    /// <param name="coversSince">
    /// A timestamp (of the <see cref="TimeProvider"/>) the fence must be published after: when the failed request was
    /// sent. A publish of the same fence that began at or after it (the detector's, for the same timeout) serves
    /// instead of a second one. Default: always publish anew.
    /// </param>
    Task<bool> FenceAsync(Pool.ServerNode node, ServerFailureReason reason, string? detail, CancellationToken cancellationToken, bool markedDownByCaller = false, long coversSince = long.MaxValue);
}
