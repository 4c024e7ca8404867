using System.Globalization;

namespace GpuDev.Compute.LocalHost;

/// <summary>As root, every owner's containers run in one user namespace range of 65536 host uids (and gids), so container root
/// is never host root, two owners never share a uid, and one owner's reservations share <c>/shared-personal</c> and
/// <c>/ccache</c>. The owner's slot n (range <c>UidBase + n × 65536</c>) is kept in <c>&lt;StateDir&gt;/owners/&lt;owner&gt;</c>,
/// written before any file is given to it.</summary>
internal sealed class OwnerRanges(string stateDir, long uidBase)
{
    public const int RangeSize = 65536;

    private readonly SemaphoreSlim _gate = new(1, 1);

    private string Dir => Path.Combine(stateDir, "owners");

    /// <summary>The first host uid of the owner's range (allocated on first use).</summary>
    public async Task<long> BaseOfAsync(string owner, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Directory.CreateDirectory(Dir);
            var file = Path.Combine(Dir, owner);
            if (ReadSlot(file) is { } known)
            {
                return uidBase + (known * RangeSize);
            }

            var used = Directory.EnumerateFiles(Dir).Select(ReadSlot).OfType<long>().ToHashSet();
            var slot = 0L;
            while (used.Contains(slot))
            {
                slot++;
            }

            FileWrites.WriteAtomically(file, slot.ToString(CultureInfo.InvariantCulture) + "\n", "644");
            return uidBase + (slot * RangeSize);
        }
        finally
        {
            _gate.Release();
        }
    }

    private static long? ReadSlot(string file)
    {
        try
        {
            return long.TryParse(File.ReadAllText(file).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var slot) ? slot : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
