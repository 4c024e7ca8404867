using System.Collections.Concurrent;
using GpuDev.Core.Identity;

namespace GpuDev.Testing;

/// <summary>GitHub keys from a dictionary; unknown users have none.</summary>
public sealed class FakeSshKeySource : ISshKeySource
{
    public ConcurrentDictionary<string, string[]> Keys { get; } = new(StringComparer.OrdinalIgnoreCase);

    public Task<IReadOnlyList<string>> GetKeysAsync(string githubUser, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>(Keys.TryGetValue(githubUser, out var keys) ? keys : []);
}
