namespace GpuDev.Contracts;

/// <summary>Body of <c>GET /api/v1/me</c>.</summary>
public sealed record MeDto(string Name, string? GithubUser, bool Admin, string Provider);

/// <summary><c>PUT /api/v1/me/github-user</c>: the caller's GitHub login (whose keys their reservations accept), or null to clear it.</summary>
public sealed record SetGithubUserRequest(string? GithubUser);
