using System.Globalization;
using GpuDev.Core.Compute;

namespace GpuDev.Compute.LocalHost;

/// <summary>The podman command line, the provider's one way to containers: argument lists (never shell strings), a time limit
/// per call, and the flags every container of this host needs (the OCI runtime, rlimits within the server's own hard limits).</summary>
internal sealed class Podman(LocalHostOptions options)
{
    private string? _runtime;
    private IReadOnlyList<string>? _runFlags;

    public string Path => options.PodmanPath;

    /// <summary>The OCI runtime: <see cref="LocalHostOptions.Runtime"/>, or for <c>auto</c> runc when installed (crun fails on
    /// cgroup v1/hybrid hosts), else podman's default (null).</summary>
    public string? Runtime => options.Runtime != "auto" ? options.Runtime
        : _runtime ??= ProcessRunner.FindOnPath("runc") is not null ? "runc" : string.Empty;

    /// <summary>Flags of every <c>podman run</c>: the runtime and rlimits no higher than the server's own hard limits (podman's
    /// defaults can exceed them, and the container then fails to start).</summary>
    public IReadOnlyList<string> RunFlags => _runFlags ??= BuildRunFlags();

    public Task<ProcessResult> RunAsync(IEnumerable<string> arguments, CancellationToken cancellationToken) =>
        ProcessRunner.RunAsync(Path, arguments, options.CommandTimeout, cancellationToken);

    /// <summary>Runs podman and throws with its error when it fails.</summary>
    public async Task<ProcessResult> RunCheckedAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var result = await RunAsync(arguments, cancellationToken).ConfigureAwait(false);
        return result.Succeeded ? result : throw new InvalidOperationException(result.Describe("podman " + arguments[0]) + Detail(result));
    }

    /// <summary>The container's state (<c>running</c>, <c>exited</c>, <c>created</c>, …) and exit code; null when it does not exist.</summary>
    public async Task<(string Status, int ExitCode)?> StateAsync(string container, CancellationToken cancellationToken)
    {
        var result = await RunAsync(["container", "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", container], cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            if (IsNoSuch(result))
            {
                return null;
            }

            throw new InvalidOperationException(result.Describe("podman container inspect") + Detail(result));
        }

        var fields = result.StdOut.Trim().Split(' ');
        return (fields[0], fields.Length > 1 && int.TryParse(fields[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var code) ? code : 0);
    }

    /// <summary>Runs the entry's <c>sync</c> in a running container (keys, warnings, Jupyter); false when it could not.</summary>
    public async Task<bool> SyncAsync(string container, CancellationToken cancellationToken)
    {
        var result = await RunAsync(["exec", container, "/bin/sh", EnvironmentContract.ConfigPath + "/" + EnvironmentContract.EntryFile, "sync"], cancellationToken).ConfigureAwait(false);
        return result.Succeeded;
    }

    public async Task<bool> NetworkExistsAsync(string network, CancellationToken cancellationToken) =>
        (await RunAsync(["network", "exists", network], cancellationToken).ConfigureAwait(false)).Succeeded;

    /// <summary>The last lines the container wrote (sshd's log: the entry runs it with <c>-e</c>), joined for a one-line reason.</summary>
    public async Task<string> LogTailAsync(string container, CancellationToken cancellationToken)
    {
        var result = await RunAsync(["logs", "--tail", "4", container], cancellationToken).ConfigureAwait(false);
        var lines = (result.StdOut + "\n" + result.StdErr).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "no output" : string.Join(" | ", lines.TakeLast(3));
    }

    /// <summary>Values of <paramref name="label"/> on every container that carries <paramref name="filter"/> (<c>key=value</c>).</summary>
    public async Task<IReadOnlyList<string>> ContainerLabelValuesAsync(string filter, string label, CancellationToken cancellationToken)
    {
        var result = await RunCheckedAsync(["ps", "-a", "--filter", "label=" + filter, "--format", "{{index .Labels \"" + label + "\"}}"], cancellationToken).ConfigureAwait(false);
        return Lines(result.StdOut);
    }

    /// <summary>Names of the networks that carry <paramref name="filter"/> (<c>key=value</c>).</summary>
    public async Task<IReadOnlyList<string>> NetworkNamesAsync(string filter, CancellationToken cancellationToken)
    {
        var result = await RunCheckedAsync(["network", "ls", "--filter", "label=" + filter, "--format", "{{.Name}}"], cancellationToken).ConfigureAwait(false);
        return Lines(result.StdOut);
    }

    private static List<string> Lines(string text) => [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    public static bool IsNoSuch(ProcessResult result) =>
        result.StdErr.Contains("no such", StringComparison.OrdinalIgnoreCase) || result.StdErr.Contains("not found", StringComparison.OrdinalIgnoreCase);

    public static string Detail(ProcessResult result)
    {
        var lines = result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length > 1 ? " (" + string.Join(" | ", lines.TakeLast(2)) + ")" : string.Empty;
    }

    private List<string> BuildRunFlags()
    {
        var flags = new List<string>();
        if (Runtime is { Length: > 0 } runtime)
        {
            flags.AddRange(["--runtime", runtime]);
        }

        var (files, processes) = HardLimits();
        flags.AddRange(["--ulimit", $"nofile={files}:{files}", "--ulimit", $"nproc={processes}:{processes}"]);
        return flags;
    }

    /// <summary>The server's hard limits of open files and processes (capped), from <c>/proc/self/limits</c>.</summary>
    private static (string Files, string Processes) HardLimits()
    {
        long files = 1024, processes = 4096;
        try
        {
            foreach (var line in File.ReadLines("/proc/self/limits"))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (line.StartsWith("Max open files", StringComparison.Ordinal) && fields.Length >= 5 && long.TryParse(fields[4], CultureInfo.InvariantCulture, out var f))
                {
                    files = Math.Min(f, 1_048_576);
                }
                else if (line.StartsWith("Max processes", StringComparison.Ordinal) && fields.Length >= 4 && long.TryParse(fields[3], CultureInfo.InvariantCulture, out var p))
                {
                    // Higher values fail here (runc: "error setting rlimit type 6") although the hard limit is higher.
                    processes = Math.Min(p, 4096);
                }
            }
        }
        catch (IOException)
        {
            // Not Linux /proc: keep the conservative defaults.
        }

        return (files.ToString(CultureInfo.InvariantCulture), processes.ToString(CultureInfo.InvariantCulture));
    }
}
