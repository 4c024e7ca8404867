using System.Collections.Concurrent;
using GpuDev.Core.Identity;

namespace GpuDev.Testing;

/// <summary>GitHub keys from a dictionary; unknown users have none.</summary>
public sealed class FakeSshKeySource : ISshKeySource
{
    public ConcurrentDictionary<string, string[]> Keys { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Users GitHub does not know: their keys page answers 404.</summary>
    public ConcurrentDictionary<string, bool> Missing { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>When true, the key source cannot be reached.</summary>
    public bool Unreachable { get; set; }

    public Task<IReadOnlyList<string>> GetKeysAsync(string githubUser, CancellationToken cancellationToken) =>
        Unreachable ? Task.FromException<IReadOnlyList<string>>(new HttpRequestException("Connection refused (keys.test:443)"))
        : Missing.ContainsKey(githubUser) ? Task.FromException<IReadOnlyList<string>>(new HttpRequestException("Response status code does not indicate success: 404 (Not Found).", null, System.Net.HttpStatusCode.NotFound))
        : Task.FromResult<IReadOnlyList<string>>(Keys.TryGetValue(githubUser, out var keys) ? keys : []);
}
