namespace Ballast.Simulation.Network;

/// <summary>The process state of a simulated server.</summary>
internal enum ProcessState
{
    /// <summary>Accepting and answering.</summary>
    Running,

    /// <summary>SIGSTOP: its kernel accepts connections and queues what arrives; nothing is read until it resumes.</summary>
    Paused,

    /// <summary>kill -9: connections are reset and new ones refused until it restarts, empty.</summary>
    Dead,
}
