namespace GpuDev.Core.Identity;

public sealed record User(string Id, string Name, string? GithubUser, bool IsAdmin, DateTimeOffset CreatedAt)
{
    /// <summary>When an admin disabled the account (its tokens stop working); null while it is enabled.</summary>
    public DateTimeOffset? DisabledAt { get; init; }
}
