namespace GpuDev.Cli;

/// <summary>A failure the user should see as <c>error: message</c> lines (plus an optional <c>hint:</c> line).</summary>
internal sealed class CliException : Exception
{
    public CliException(int exitCode, string message, string? hint = null, Exception? inner = null)
        : this(exitCode, [message], hint, inner)
    {
    }

    public CliException(int exitCode, IReadOnlyList<string> messages, string? hint = null, Exception? inner = null)
        : base(messages.Count > 0 ? messages[0] : "unknown error", inner)
    {
        ExitCode = exitCode;
        Messages = messages.Count > 0 ? messages : ["unknown error"];
        Hint = hint;
    }

    public CliException()
        : this(ExitCodes.Failure, "unknown error")
    {
    }

    public CliException(string message)
        : this(ExitCodes.Failure, message)
    {
    }

    public CliException(string message, Exception innerException)
        : this(ExitCodes.Failure, message, null, innerException)
    {
    }

    public int ExitCode { get; }

    public IReadOnlyList<string> Messages { get; }

    public string? Hint { get; }

    /// <summary>The server's ProblemDetails <c>code</c> (e.g. <c>not-found</c>, <c>conflict</c>) when the failure came from it.</summary>
    public string? ProblemCode { get; init; }

    /// <summary>The HTTP status the server answered with, when the failure is its answer.</summary>
    public int? HttpStatus { get; init; }

    /// <summary>The server could not be reached (connection refused, DNS, timeout): no answer at all.</summary>
    public bool Unreachable { get; init; }

    public static CliException Usage(string message, string? hint = null) => new(ExitCodes.Failure, message, hint);

    public static CliException NotSupported(string what) => new(ExitCodes.Failure, $"{what} is not supported yet");
}
