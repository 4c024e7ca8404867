namespace GpuDev.Core.Identity;

/// <summary>Public keys of a GitHub user (e.g. <c>https://github.com/{user}.keys</c>).</summary>
public interface ISshKeySource
{
    Task<IReadOnlyList<string>> GetKeysAsync(string githubUser, CancellationToken cancellationToken);
}
