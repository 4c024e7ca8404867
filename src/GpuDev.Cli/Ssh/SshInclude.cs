using System.Text;

namespace GpuDev.Cli.Ssh;

/// <summary>What <see cref="SshInclude.Enable"/> or <see cref="SshInclude.Disable"/> did to one file.</summary>
internal enum IncludeChange
{
    Created,
    Added,
    AlreadyPresent,
    Removed,
    NotPresent,
    Missing,
}

/// <summary>
/// Adds or removes the one line <c>Include ~/.gpu-dev/*-sshconfig</c> in <c>~/.ssh/config</c> and
/// <c>~/.cursor/ssh_config</c>. The line goes at the very top: an Include after a <c>Host</c> line would only apply
/// inside that block. Every other byte of the file is kept (read and written as Latin-1, which maps bytes 1:1), and
/// the file is rewritten in place so its mode, owner and a symlink to it (dotfile managers) stay as they are.
/// </summary>
internal sealed class SshInclude(ICliEnvironment environment, SshFiles files)
{
    /// <summary>The UTF-8 byte order mark as Latin-1 chars; kept in front of everything.</summary>
    private const string Bom = "\u00EF\u00BB\u00BF";

    public string IncludeLine => $"Include {files.DirectoryForSshConfig}/*{SshFiles.ConfigSuffix}";

    /// <summary>The files we manage, as (path to show, full path).</summary>
    public IReadOnlyList<(string Display, string Path)> Files =>
    [
        ("~/.ssh/config", Path.Combine(environment.HomeDirectory, ".ssh", "config")),
        ("~/.cursor/ssh_config", Path.Combine(environment.HomeDirectory, ".cursor", "ssh_config")),
    ];

    /// <summary>True when ~/.ssh/config has the Include line (so the <c>gpu-dev-ID8</c> alias works with plain ssh).</summary>
    public bool IsEnabled()
    {
        var path = Files[0].Path;
        try
        {
            return File.Exists(path) && FindLines(ReadLatin1(path)).Count > 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public IncludeChange Enable(string path)
    {
        if (!File.Exists(path))
        {
            CreatePrivate(path, IncludeLine + "\n");
            return IncludeChange.Created;
        }

        var text = ReadLatin1(path);
        if (FindLines(text).Count > 0)
        {
            return IncludeChange.AlreadyPresent;
        }

        var newline = text.Contains("\r\n", StringComparison.Ordinal) ? "\r\n" : "\n";
        var bom = text.StartsWith(Bom, StringComparison.Ordinal) ? Bom : string.Empty;
        Rewrite(path, bom + IncludeLine + newline + text[bom.Length..]);
        return IncludeChange.Added;
    }

    public IncludeChange Disable(string path)
    {
        if (!File.Exists(path))
        {
            return IncludeChange.Missing;
        }

        var text = ReadLatin1(path);
        var lines = FindLines(text);
        if (lines.Count == 0)
        {
            return IncludeChange.NotPresent;
        }

        var sb = new StringBuilder(text.Length);
        var at = 0;
        foreach (var (start, length) in lines)
        {
            sb.Append(text, at, start - at);
            at = start + length;
        }

        sb.Append(text, at, text.Length - at);
        Rewrite(path, sb.ToString());
        return IncludeChange.Removed;
    }

    /// <summary>Every line that is exactly our Include (surrounding blanks allowed), as (start, length including its line break).</summary>
    private List<(int Start, int Length)> FindLines(string text)
    {
        var found = new List<(int, int)>();
        var include = IncludeLine;
        for (var start = text.StartsWith(Bom, StringComparison.Ordinal) ? Bom.Length : 0; start < text.Length;)
        {
            var nl = text.IndexOf('\n', start);
            var end = nl < 0 ? text.Length : nl + 1;
            var line = text[start..end].TrimEnd('\n').TrimEnd('\r');
            if (string.Equals(line.Trim(), include, StringComparison.Ordinal))
            {
                found.Add((start, end - start));
            }

            start = end;
        }

        return found;
    }

    /// <summary>Bytes as Latin-1 chars, without BOM detection (File.ReadAllText would swallow a BOM).</summary>
    private static string ReadLatin1(string path) => Encoding.Latin1.GetString(File.ReadAllBytes(path));

    private static void Rewrite(string path, string text)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.None);
        var bytes = Encoding.Latin1.GetBytes(text);
        stream.Write(bytes);
        stream.SetLength(bytes.Length);
    }

    private static void CreatePrivate(string path, string text)
    {
        var dir = Path.GetDirectoryName(path)!;
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(dir);
        }
        else
        {
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(path, options);
        stream.Write(Encoding.Latin1.GetBytes(text));
    }
}
