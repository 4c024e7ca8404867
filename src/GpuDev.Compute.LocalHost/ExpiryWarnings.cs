using System.Globalization;
using System.Text;
using GpuDev.Core.Compute;
using Microsoft.Extensions.Logging;

namespace GpuDev.Compute.LocalHost;

/// <summary>Expiry warnings, as the contract delivers them: the provider puts <c>EXPIRES_IN_N_MIN</c> into the environment's
/// configuration directory and runs the entry's <c>sync</c> in every rank, which copies it into the home and writes it to every
/// terminal of that container (its own devpts: no other reservation's terminals). A rank that misses the exec gets it from the
/// entry's own 5-second loop.</summary>
internal sealed class ExpiryWarnings(Podman podman, ILogger logger)
{
    private const int MaxWarningBytes = 1024;
    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public async Task DeliverAsync(EnvironmentLayout layout, string fileName, string message, CancellationToken cancellationToken)
    {
        var reservationId = layout.ReservationId;
        Validate(fileName, message);
        if (EnvironmentRecordFile.Read(layout) is not { } record || !Directory.Exists(layout.ConfigDir))
        {
            Log.WarningProblem(logger, reservationId, "the environment does not exist; nothing delivered");
            return;
        }

        FileWrites.WriteIfChanged(Path.Combine(layout.ConfigDir, fileName), message + "\n", "644");
        var delivered = await SyncRanksAsync(layout, record, "delivering " + fileName, cancellationToken).ConfigureAwait(false);
        Log.WarningDelivered(logger, reservationId, fileName, delivered);
    }

    public async Task ClearAsync(EnvironmentLayout layout, CancellationToken cancellationToken)
    {
        if (EnvironmentRecordFile.Read(layout) is not { } record || !Directory.Exists(layout.ConfigDir))
        {
            return;
        }

        foreach (var file in Directory.EnumerateFiles(layout.ConfigDir, "EXPIRES_IN_*_MIN"))
        {
            File.Delete(file);
        }

        await SyncRanksAsync(layout, record, "clearing warnings", cancellationToken).ConfigureAwait(false);
        Log.WarningsCleared(logger, layout.ReservationId);
    }

    /// <summary>Runs the entry's sync in every rank; the number that did it (the others are logged and catch up by themselves).</summary>
    private async Task<int> SyncRanksAsync(EnvironmentLayout layout, EnvironmentRecord record, string what, CancellationToken cancellationToken)
    {
        var done = 0;
        for (var rank = 0; rank < record.NodeCount; rank++)
        {
            if (await podman.SyncAsync(layout.Container(rank), cancellationToken).ConfigureAwait(false))
            {
                done++;
            }
            else
            {
                Log.WarningProblem(logger, layout.ReservationId, $"{what} on node {rank.ToString(CultureInfo.InvariantCulture)}: podman exec failed; the environment's own loop will catch up");
            }
        }

        return done;
    }

    private static void Validate(string fileName, string message)
    {
        if (fileName is null || !EnvironmentContract.IsWarningFileName(fileName))
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
}
