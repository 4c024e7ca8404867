using System.Text.RegularExpressions;

namespace GpuDev.Core.Identity;

public static partial class UserNames
{
    public const string Rule = "user names are 1-32 characters of lowercase letters, digits, '-' and '_', starting with a letter or digit";

    public static bool IsValid(string? name) => name is { Length: > 0 and <= 32 } && Pattern().IsMatch(name);

    /// <summary>GitHub logins: 1-39 letters, digits or single hyphens.</summary>
    public static bool IsValidGithub(string? name) => name is { Length: > 0 and <= 39 } && GithubPattern().IsMatch(name);

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]*\\z")]
    private static partial Regex Pattern();

    [GeneratedRegex("^[A-Za-z0-9]([A-Za-z0-9]|-(?=[A-Za-z0-9]))*\\z")]
    private static partial Regex GithubPattern();
}
