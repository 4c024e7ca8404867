using System.Globalization;
using System.Text;
using GpuDev.Cli.Output;
using GpuDev.Contracts;

namespace GpuDev.Cli.Ssh;

/// <summary>
/// The per-reservation files under <c>~/.gpu-dev/</c> (or <c>$GPU_DEV_HOME</c>): <c>ID-sshconfig</c>, an ssh_config
/// fragment with the alias <c>gpu-dev-ID8</c> (multinode: also <c>gpu-dev-ID8-RANK</c>), and <c>ID.known_hosts</c> with
/// the host key of every node, so ssh checks the reservation's real host key. Written while a reservation is active,
/// removed once it has ended. Directory mode 0700, files 0600.
/// </summary>
internal sealed class SshFiles(ICliEnvironment environment)
{
    public const string DirectoryName = ".gpu-dev";
    public const string ConfigSuffix = "-sshconfig";

    /// <summary>The directory; <c>$GPU_DEV_HOME</c> overrides <c>$HOME/.gpu-dev</c>.</summary>
    public string Directory => environment.GetVariable(EnvVars.GpuDevHome) ?? DefaultDirectory;

    /// <summary>True when the directory is <c>~/.gpu-dev</c>, so files may name it as <c>~/.gpu-dev</c>.</summary>
    public bool IsDefaultDirectory =>
        string.Equals(Path.GetFullPath(Directory).TrimEnd('/'), Path.GetFullPath(DefaultDirectory).TrimEnd('/'), StringComparison.Ordinal);

    /// <summary>How ssh_config lines name the directory: <c>~/.gpu-dev</c>, or the absolute override (quoted if needed).</summary>
    public string DirectoryForSshConfig => IsDefaultDirectory ? "~/" + DirectoryName : Path.GetFullPath(Directory);

    private string DefaultDirectory => Path.Combine(environment.HomeDirectory, DirectoryName);

    public static string Alias(string id) => $"gpu-dev-{Format.ShortId(id)}";

    public static string Alias(string id, int rank) => $"{Alias(id)}-{rank.ToString(CultureInfo.InvariantCulture)}";

    public string ConfigPath(string id) => Path.Combine(Directory, id + ConfigSuffix);

    public string KnownHostsPath(string id) => Path.Combine(Directory, id + ".known_hosts");

    /// <summary>Brings the files in line with what the CLI just saw: written for an active reservation with an SSH
    /// endpoint, removed for an ended one, left alone otherwise. Failures become one warning line (never fatal).</summary>
    public void Sync(ReservationDto reservation, TextWriter? warnings)
    {
        if (ServerValues.Problem(reservation) is { } problem)
        {
            warnings?.WriteLine($"warning: not writing ssh files: {problem}");
            return;
        }

        try
        {
            if (reservation.Status == "active" && Endpoints(reservation).Count > 0)
            {
                Write(reservation);
            }
            else if (Format.IsTerminal(reservation.Status))
            {
                Remove(reservation.Id);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            warnings?.WriteLine($"warning: cannot update the ssh config files in {Directory}: {ex.Message}");
        }
    }

    public void SyncAll(IEnumerable<ReservationDto> reservations, TextWriter? warnings)
    {
        foreach (var reservation in reservations)
        {
            Sync(reservation, warnings);
        }
    }

    /// <summary>Writes both files (only when their content changed). Returns the known_hosts path, or null when the
    /// server sent no host key (the config then says <c>StrictHostKeyChecking accept-new</c>).</summary>
    /// <exception cref="CliException">The server sent a value that must not reach a file (see <see cref="ServerValues"/>).</exception>
    public string? Write(ReservationDto reservation)
    {
        if (ServerValues.Problem(reservation) is { } problem)
        {
            throw new CliException(ExitCodes.Failure, problem, "is GPU_DEV_SERVER the gpu-dev server you meant? Nothing was written.");
        }

        var endpoints = Endpoints(reservation);
        if (endpoints.Count == 0)
        {
            return null;
        }

        EnsureDirectory();
        var knownHosts = KnownHosts(reservation);
        var knownHostsPath = KnownHostsPath(reservation.Id);
        WriteIfChanged(knownHostsPath, knownHosts);
        WriteIfChanged(ConfigPath(reservation.Id), Config(reservation, hasHostKeys: knownHosts.Length > 0));
        return knownHosts.Length > 0 ? knownHostsPath : null;
    }

    /// <summary>Deletes both files; true when something was there.</summary>
    public bool Remove(string id)
    {
        var removed = false;
        foreach (var path in new[] { ConfigPath(id), KnownHostsPath(id) })
        {
            if (File.Exists(path))
            {
                File.Delete(path);
                removed = true;
            }
        }

        return removed;
    }

    /// <summary>The ssh_config fragment (see <see cref="SshFiles"/>).</summary>
    public string Config(ReservationDto r, bool hasHostKeys)
    {
        var sb = new StringBuilder();
        var id8 = Format.ShortId(r.Id);
        sb.Append(CultureInfo.InvariantCulture, $"# gpu-dev reservation {id8}{(string.IsNullOrWhiteSpace(r.Name) ? string.Empty : $" ({ServerValues.Printable(r.Name)})")}, {r.GpuCount}x{ServerValues.Printable(r.GpuType)}.\n");
        sb.Append("# Written by the gpu-dev CLI and removed when the reservation ends; do not edit.\n");
        sb.Append("# `gpu-dev config ssh-include enable` makes ssh, VS Code and Cursor read it.\n");
        var nodes = r.Nodes.OrderBy(n => n.Rank).ToList();
        var rank0 = nodes.Count > 0 ? (nodes[0].Ssh ?? r.Ssh) : r.Ssh;
        if (rank0 is not null)
        {
            AppendHost(sb, Alias(r.Id), rank0, r.Id, hasHostKeys);
        }

        if (Format.IsMultinode(r))
        {
            foreach (var node in nodes)
            {
                if ((node.Ssh ?? (node.Rank == 0 ? r.Ssh : null)) is { } ssh)
                {
                    AppendHost(sb, Alias(r.Id, node.Rank), ssh, r.Id, hasHostKeys);
                }
            }
        }

        return sb.ToString();
    }

    /// <summary>known_hosts lines for every endpoint with a host key: <c>[host]:port type base64</c> (bare host on port 22).</summary>
    public static string KnownHosts(ReservationDto r) =>
        string.Concat(Endpoints(r)
            .Where(e => !string.IsNullOrWhiteSpace(e.HostKey))
            .Select(e => $"{(e.Port == 22 ? e.Host : $"[{e.Host}]:{e.Port.ToString(CultureInfo.InvariantCulture)}")} {e.HostKey!.Trim()}\n")
            .Distinct(StringComparer.Ordinal));

    private static List<SshInfoDto> Endpoints(ReservationDto r) =>
        new[] { r.Ssh }.Concat(r.Nodes.OrderBy(n => n.Rank).Select(n => n.Ssh)).OfType<SshInfoDto>().ToList();

    private void AppendHost(StringBuilder sb, string alias, SshInfoDto ssh, string id, bool hasHostKeys)
    {
        var knownHosts = $"{DirectoryForSshConfig}/{id}.known_hosts";
        sb.Append('\n');
        sb.Append(CultureInfo.InvariantCulture, $"Host {alias}\n");
        sb.Append(CultureInfo.InvariantCulture, $"    HostName {ssh.Host}\n");
        sb.Append(CultureInfo.InvariantCulture, $"    Port {ssh.Port}\n");
        sb.Append(CultureInfo.InvariantCulture, $"    User {ssh.User}\n");
        sb.Append(CultureInfo.InvariantCulture, $"    UserKnownHostsFile {Quote(knownHosts)}\n");
        if (hasHostKeys)
        {
            sb.Append("    StrictHostKeyChecking yes\n");
        }
        else
        {
            sb.Append("    # The server sent no host key: trust the first one seen, and only that one afterwards.\n");
            sb.Append("    StrictHostKeyChecking accept-new\n");
        }

        sb.Append("    # Your local ssh-agent keys are usable on the machine (e.g. for git push).\n");
        sb.Append("    ForwardAgent yes\n");
        sb.Append("    # IdentitiesOnly no: the reservation accepts your GitHub keys, which ssh offers from your agent and\n");
        sb.Append("    # default identity files; there is no single IdentityFile we could name here.\n");
        sb.Append("    IdentitiesOnly no\n");
    }

    private static string Quote(string value) => value.Contains(' ', StringComparison.Ordinal) ? $"\"{value}\"" : value;

    private void EnsureDirectory()
    {
        var dir = Directory;
        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(dir);
            return;
        }

        var existed = System.IO.Directory.Exists(dir);
        System.IO.Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (existed && (File.GetUnixFileMode(dir) & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead)) != 0)
        {
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>Writes through a temporary file and a rename (readers never see half a file), mode 0600.</summary>
    private static void WriteIfChanged(string path, string content)
    {
        if (File.Exists(path) && File.ReadAllText(path) == content)
        {
            return;
        }

        var tmp = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            using (var stream = new FileStream(tmp, options))
            {
                stream.Write(new UTF8Encoding(false).GetBytes(content));
            }

            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            try
            {
                File.Delete(tmp);
            }
            catch (IOException)
            {
            }

            throw;
        }
    }
}
