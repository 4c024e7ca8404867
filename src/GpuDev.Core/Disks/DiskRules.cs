using System.Text.RegularExpressions;

namespace GpuDev.Core.Disks;

public static partial class DiskRules
{
    public const int MaxNameLength = 64;
    public const string NameRule = "Disk names are 1-64 characters of letters, digits, '-' and '_', starting with a letter or digit";

    public static string ToWire(this DiskStatus status) => status switch
    {
        DiskStatus.Available => "available",
        DiskStatus.InUse => "in-use",
        DiskStatus.BackingUp => "backing-up",
        DiskStatus.Deleted => "deleted",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    public static DiskStatus ParseWire(string value) =>
        Enum.GetValues<DiskStatus>().Single(s => s.ToWire() == value);

    /// <summary>A valid disk name; <c>none</c> is refused because <c>--disk none</c> means a temporary home.</summary>
    public static bool IsValidName(string? name) =>
        name is { Length: > 0 and <= MaxNameLength } && Pattern().IsMatch(name) && !string.Equals(name, "none", StringComparison.OrdinalIgnoreCase);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]*\\z")]
    private static partial Regex Pattern();
}
