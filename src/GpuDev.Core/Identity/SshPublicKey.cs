using System.Text.RegularExpressions;

namespace GpuDev.Core.Identity;

/// <summary>Checks OpenSSH public key lines before they reach an authorized_keys file: a known key type, base64
/// key data and an optional plain comment. Option prefixes (<c>command="..."</c>), control characters and
/// newlines are refused, so a key can never smuggle options or extra lines.</summary>
public static partial class SshPublicKey
{
    private static readonly string[] s_types =
    [
        "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
    ];

    /// <summary>Returns the normalised key line (type, data and comment separated by single spaces), or null.</summary>
    public static string? Normalize(string? line)
    {
        if (string.IsNullOrWhiteSpace(line) || line.Length > 16 * 1024 || line.Any(char.IsControl))
        {
            return null;
        }

        var parts = line.Trim().Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2 || !s_types.Contains(parts[0], StringComparer.Ordinal) || !KeyData().IsMatch(parts[1]))
        {
            return null;
        }

        if (!EmbedsType(parts[1], parts[0]))
        {
            return null;
        }

        var comment = parts.Length == 3 ? SafeComment().Replace(parts[2].Trim(), "_") : null;
        return comment is { Length: > 0 } ? $"{parts[0]} {parts[1]} {comment}" : $"{parts[0]} {parts[1]}";
    }

    /// <summary>The key's OpenSSH fingerprint (<c>ssh-keygen -l</c>): "SHA256:" and the unpadded base64 of the SHA-256 of
    /// its blob. <paramref name="normalizedKey"/> is a line <see cref="Normalize"/> accepted.</summary>
    public static string Fingerprint(string normalizedKey)
    {
        var blob = Convert.FromBase64String(normalizedKey.Split(' ')[1]);
        return "SHA256:" + Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(blob)).TrimEnd('=');
    }

    /// <summary>Valid key lines of a multi-line text (e.g. a <c>.keys</c> document); invalid lines are dropped.</summary>
    public static IReadOnlyList<string> ParseMany(string text) =>
        [.. text.Split('\n').Select(l => Normalize(l.TrimEnd('\r'))).OfType<string>().Distinct(StringComparer.Ordinal)];

    /// <summary>The key blob starts with its own type name (uint32 length + name), as every OpenSSH key does.</summary>
    private static bool EmbedsType(string base64, string type)
    {
        byte[] blob;
        try
        {
            blob = Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            return false;
        }

        if (blob.Length < 4 + type.Length)
        {
            return false;
        }

        var length = (blob[0] << 24) | (blob[1] << 16) | (blob[2] << 8) | blob[3];
        return length == type.Length && System.Text.Encoding.ASCII.GetString(blob, 4, length) == type;
    }

    [GeneratedRegex("^[A-Za-z0-9+/]+={0,2}\\z")]
    private static partial Regex KeyData();

    [GeneratedRegex("[^A-Za-z0-9@._+-]")]
    private static partial Regex SafeComment();
}
