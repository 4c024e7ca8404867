using System.CommandLine;

namespace GpuDev.Cli.Commands.Disk;

/// <summary>The disk name rule shared with the server: 1–64 of <c>[A-Za-z0-9_-]</c>, starting with a letter or digit (so a
/// name is never read as an option); <c>none</c> is reserved.</summary>
internal static class DiskNames
{
    public const int MaxLength = 64;

    public const string Rule = "1–64 letters, digits, hyphens (-) or underscores (_), starting with a letter or digit";

    public static bool IsNone(string? name) => string.Equals(name, "none", StringComparison.OrdinalIgnoreCase);

    /// <summary>Null when <paramref name="name"/> is a valid disk name, else the one-line reason.</summary>
    public static string? Problem(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxLength || !char.IsAsciiLetterOrDigit(name[0]) || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            return $"invalid disk name \"{name}\": use {Rule}";
        }

        return IsNone(name) ? "\"none\" cannot be a disk name: `--disk none` means temporary storage" : null;
    }

    public static void Validate(string? name)
    {
        if (Problem(name) is { } problem)
        {
            throw CliException.Usage(problem);
        }
    }

    /// <summary>Like <see cref="Validate"/>, but lets <c>none</c> through (an existing disk may predate the rule).</summary>
    public static void ValidateExisting(string? name)
    {
        if (Problem(name) is { } problem && !IsNone(name))
        {
            throw CliException.Usage(problem);
        }
    }

    public static Argument<string> Argument(string name = "DISK_NAME", string description = "Disk name (letters, digits, - and _)") =>
        new(name) { Description = description };
}
