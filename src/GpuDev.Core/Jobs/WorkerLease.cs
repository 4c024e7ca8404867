namespace GpuDev.Core.Jobs;

/// <summary>A stored worker lease: <see cref="Owner"/> holds <see cref="Name"/> until <see cref="ExpiresAt"/>.</summary>
public sealed record WorkerLease(string Name, string Owner, DateTimeOffset ExpiresAt);
