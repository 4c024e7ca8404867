namespace GpuDev.Contracts;

/// <summary>RFC 7807 problem details as the server writes them; <see cref="Code"/> is the stable machine code.</summary>
public sealed record ProblemDto
{
    public string? Type { get; init; }

    public string? Title { get; init; }

    public int? Status { get; init; }

    public string? Detail { get; init; }

    public string? Code { get; init; }

    /// <summary>Field name to messages, for validation problems.</summary>
    public Dictionary<string, string[]>? Errors { get; init; }
}
