namespace GpuDev.Cli;

/// <summary>Process exit codes; documented in <c>gpu-dev help exit-codes</c>.</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Cancelled = 2;
    public const int AuthRequired = 4;
}
