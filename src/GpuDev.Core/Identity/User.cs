namespace GpuDev.Core.Identity;

public sealed record User(string Id, string Name, string? GithubUser, bool IsAdmin, DateTimeOffset CreatedAt);
