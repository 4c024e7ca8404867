using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using GpuDev.Core.Compute;

namespace GpuDev.Compute.LocalHost;

/// <summary>Expiry warnings: a file in every rank's home and a wall-style line on every terminal of the environment.</summary>
internal sealed partial class LocalHostProvider
{
    private const int MaxWarningBytes = 1024;
    private static readonly TimeSpan s_terminalWriteTimeout = TimeSpan.FromSeconds(2);
    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Run as the reservation's user: writes <c>$3</c> and a newline to <c>$1/$2</c> (temp file and rename).</summary>
    private const string WriteWarningScript =
        "set -e\n" +
        "umask 022\n" +
        "cd \"$1\"\n" +
        "printf '%s\\n' \"$3\" > \"$2.gpudev-tmp\"\n" +
        "mv -f \"$2.gpudev-tmp\" \"$2\"\n";

    /// <summary>Run as the reservation's user: removes <c>$1/EXPIRES_IN_*_MIN</c> (files and links, not directories).</summary>
    private const string ClearWarningsScript =
        "cd \"$1\" || exit 1\n" +
        "for f in EXPIRES_IN_*_MIN EXPIRES_IN_*_MIN.gpudev-tmp; do\n" +
        "  if [ -f \"$f\" ] || [ -L \"$f\" ]; then rm -f -- \"$f\" || exit 1; fi\n" +
        "done\n";

    /// <summary>Writes <c>$1</c> to the terminal <c>$2</c> when it is a character device.</summary>
    private const string WriteTerminalScript = "[ -c \"$2\" ] && printf '%s' \"$1\" > \"$2\"";

    public async Task DeliverWarningAsync(string reservationId, string fileName, string message, CancellationToken cancellationToken)
    {
        ValidateId(reservationId);
        ValidateWarning(fileName, message);
        var layout = new EnvironmentLayout(StateDir, reservationId);
        if (ReadRecord(layout) is not { } record)
        {
            Log.WarningProblem(logger, reservationId, "the environment does not exist; nothing delivered");
            return;
        }

        layout = WithDisk(layout, record);

        var homes = 0;
        for (var rank = 0; rank < record.NodeCount; rank++)
        {
            var node = layout.ForRank(rank);
            var result = await RunAsUserAsync(record.User, ["/bin/sh", "-c", WriteWarningScript, "sh", node.Home, fileName, message], cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                homes++;
            }
            else
            {
                Log.WarningProblem(logger, reservationId, result.Describe($"writing ~/{fileName} on node {rank.ToString(CultureInfo.InvariantCulture)}") + " " + result.StdErr.Trim());
            }
        }

        // Host terminals are written by us (their paths are root's devpts); a sandbox's own ptys through /proc/PID/fd/N as
        // the user, so that a descriptor swapped meanwhile can only be something the user may write anyway.
        var (hostTerminals, sandboxTerminals) = await FindTerminalsAsync(layout, cancellationToken).ConfigureAwait(false);
        var banner = Terminals.Banner(message);
        List<string> userShell = _isRoot ? ["runuser", "-u", record.User, "--", "/bin/sh"] : ["/bin/sh"];
        var writes = await Task.WhenAll(
            hostTerminals.Select(tty => WriteTerminalAsync(["/bin/sh"], banner, tty, cancellationToken))
                .Concat(sandboxTerminals.Select(fd => WriteTerminalAsync(userShell, banner, fd, cancellationToken)))).ConfigureAwait(false);
        Log.WarningDelivered(logger, reservationId, fileName, homes, writes.Count(w => w.Succeeded));
    }

    public async Task ClearWarningsAsync(string reservationId, CancellationToken cancellationToken)
    {
        ValidateId(reservationId);
        var layout = new EnvironmentLayout(StateDir, reservationId);
        if (ReadRecord(layout) is not { } record)
        {
            return;
        }

        layout = WithDisk(layout, record);

        var problems = new List<string>();
        for (var rank = 0; rank < record.NodeCount; rank++)
        {
            var node = layout.ForRank(rank);
            if (!Directory.Exists(node.Home))
            {
                continue;
            }

            var result = await RunAsUserAsync(record.User, ["/bin/sh", "-c", ClearWarningsScript, "sh", node.Home], cancellationToken).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                problems.Add(result.Describe($"removing expiry warnings on node {rank.ToString(CultureInfo.InvariantCulture)}") + " " + result.StdErr.Trim());
            }
        }

        if (problems.Count > 0)
        {
            throw new InvalidOperationException(string.Join("; ", problems));
        }

        Log.WarningsCleared(logger, reservationId);
    }

    /// <summary>Writes to one terminal with <paramref name="shell"/>, killed after a short time (a terminal stopped with
    /// Ctrl-S blocks writers).</summary>
    private static Task<ProcessResult> WriteTerminalAsync(IReadOnlyList<string> shell, string banner, string terminal, CancellationToken cancellationToken) =>
        ProcessRunner.RunAsync(shell[0], [.. shell.Skip(1), "-c", WriteTerminalScript, "sh", banner, terminal], s_terminalWriteTimeout, cancellationToken);

    /// <summary>The environment's terminals: those of every process of its uid (root) and of everything under its sshd listeners.</summary>
    private async Task<(SortedSet<string> Host, List<string> Sandboxed)> FindTerminalsAsync(EnvironmentLayout layout, CancellationToken cancellationToken)
    {
        var snapshot = ProcessTable.Snapshot();
        var pids = ProcessTable.WithDescendants(snapshot, ProcessTable.FindSshdUnder(layout.EnvDir, _options.SshdPath));
        if (_isRoot && await LookupUserAsync(layout.UserName, cancellationToken).ConfigureAwait(false) is { } account)
        {
            pids.UnionWith(snapshot.Where(e => e.Uid == account.Uid).Select(e => e.Pid));
        }

        pids.RemoveWhere(pid => snapshot.Any(e => e.Pid == pid && e.State is 'Z' or 'X'));
        return Terminals.Find(pids.Order());
    }

    /// <summary>Runs a helper as the reservation's user (root), or as ourselves (not root: sessions run as us too).</summary>
    private Task<ProcessResult> RunAsUserAsync(string user, IReadOnlyList<string> command, CancellationToken cancellationToken) =>
        _isRoot
            ? ProcessRunner.RunAsync("runuser", ["-u", user, "--", .. command], _options.CommandTimeout, cancellationToken)
            : ProcessRunner.RunAsync(command[0], command.Skip(1), _options.CommandTimeout, cancellationToken);

    private static void ValidateWarning(string fileName, string message)
    {
        if (fileName is null || fileName.Length > 64 || !WarningFilePattern().IsMatch(fileName))
        {
            throw new ArgumentException("A warning file name is EXPIRES_IN_<minutes>_MIN.", nameof(fileName));
        }

        ArgumentNullException.ThrowIfNull(message);
        int bytes;
        try
        {
            bytes = s_strictUtf8.GetByteCount(message);
        }
        catch (EncoderFallbackException)
        {
            throw new ArgumentException("A warning message must be valid text.", nameof(message));
        }

        if (bytes > MaxWarningBytes)
        {
            throw new ArgumentException($"A warning message is at most {MaxWarningBytes.ToString(CultureInfo.InvariantCulture)} bytes.", nameof(message));
        }

        if (message.Any(c => c != '\n' && char.IsControl(c)))
        {
            throw new ArgumentException("A warning message must not contain control characters (other than newlines).", nameof(message));
        }
    }

    [GeneratedRegex("^EXPIRES_IN_[0-9]+_MIN$", RegexOptions.CultureInvariant)]
    private static partial Regex WarningFilePattern();
}
