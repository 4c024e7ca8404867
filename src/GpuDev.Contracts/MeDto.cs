namespace GpuDev.Contracts;

/// <summary>Body of <c>GET /api/v1/me</c>.</summary>
public sealed record MeDto(string Name, string? GithubUser, bool Admin, string Provider);
