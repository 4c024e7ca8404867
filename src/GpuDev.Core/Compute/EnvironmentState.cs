namespace GpuDev.Core.Compute;

public enum EnvironmentState
{
    /// <summary>Nothing of the environment exists.</summary>
    Absent,

    /// <summary>Created, not yet answering ssh.</summary>
    Starting,

    /// <summary>A real SSH handshake with its sshd succeeded.</summary>
    Ready,

    /// <summary>It exists but is broken (e.g. sshd exited); <see cref="EnvironmentStatus.Message"/> says why.</summary>
    Failed,
}
