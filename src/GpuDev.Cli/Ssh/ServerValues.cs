using System.Net;
using System.Text.RegularExpressions;
using GpuDev.Contracts;

namespace GpuDev.Cli.Ssh;

/// <summary>What the CLI accepts from a server before a value reaches a file in <c>~/.ssh</c>/<c>~/.gpu-dev</c> or an argument
/// of <c>ssh</c>: a reservation id of the id format, a host name or IP address, a login name, a port 1–65535, a host key of
/// one line. A hostile or broken server cannot make the CLI write an ssh option (<c>ProxyCommand</c>, <c>LocalCommand</c>), a
/// path outside its directory, or an argument that ssh reads as an option.</summary>
internal static partial class ServerValues
{
    /// <summary>Null when the reservation's id and every SSH endpoint are well-formed, else what is wrong (for one line).</summary>
    public static string? Problem(ReservationDto reservation)
    {
        if (!IdPattern().IsMatch(reservation.Id ?? string.Empty))
        {
            return $"the server sent an invalid reservation id {Show(reservation.Id)}";
        }

        foreach (var ssh in new[] { reservation.Ssh }.Concat(reservation.Nodes.Select(n => n.Ssh)).OfType<SshInfoDto>())
        {
            if (Problem(ssh) is { } problem)
            {
                return problem;
            }
        }

        return null;
    }

    public static string? Problem(SshInfoDto ssh)
    {
        if (!IsHost(ssh.Host))
        {
            return $"the server sent an invalid SSH host {Show(ssh.Host)} (expected a host name or an IP address)";
        }

        if (!UserPattern().IsMatch(ssh.User ?? string.Empty))
        {
            return $"the server sent an invalid SSH user {Show(ssh.User)} (expected a login name)";
        }

        if (ssh.Port is < 1 or > 65535)
        {
            return $"the server sent an invalid SSH port {ssh.Port} (expected 1-65535)";
        }

        if (ssh.HostKey is { } key && !HostKeyPattern().IsMatch(key.Trim()))
        {
            return $"the server sent an invalid host key {Show(key)} (expected one line: TYPE BASE64)";
        }

        return null;
    }

    public static bool IsHost(string? host) =>
        host is { Length: > 0 and <= 253 } && (IPAddress.TryParse(host, out _) && !host.Contains('%', StringComparison.Ordinal) || HostPattern().IsMatch(host));

    /// <summary>Text from the server for a terminal or a comment line: control characters become spaces.</summary>
    public static string Printable(string? text) => text is null ? string.Empty : new string([.. text.Select(c => char.IsControl(c) ? ' ' : c)]);

    private static string Show(string? value) => value is null ? "(none)" : "'" + Printable(value.Length > 60 ? value[..60] + "…" : value) + "'";

    [GeneratedRegex("^[0-9a-f]{32}$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();

    [GeneratedRegex("^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\\.?$", RegexOptions.CultureInvariant)]
    private static partial Regex HostPattern();

    [GeneratedRegex("^[a-z_][a-z0-9_-]{0,31}$", RegexOptions.CultureInvariant)]
    private static partial Regex UserPattern();

    [GeneratedRegex("^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\\.com|sk-ecdsa-sha2-nistp256@openssh\\.com) [A-Za-z0-9+/]+={0,3}$", RegexOptions.CultureInvariant)]
    private static partial Regex HostKeyPattern();
}
