using System.Text.Json;
using System.Text.Json.Nodes;

namespace GpuDev.Cli.Config;

/// <summary>Where a setting's effective value came from.</summary>
internal enum ConfigSource
{
    Default,
    File,
    Environment,
}

internal sealed record ConfigValue(string? Value, ConfigSource Source);

/// <summary>
/// Reads and writes <c>config.json</c> ($GPU_DEV_CONFIG_DIR, else $XDG_CONFIG_HOME/gpu-dev, else ~/.config/gpu-dev).
/// Environment variables (GPU_DEV_SERVER, GPU_DEV_TOKEN) override the file. Unknown keys in the file are kept.
/// </summary>
internal sealed class ConfigStore(ICliEnvironment environment)
{
    public const string ServerKey = "server";
    public const string TokenKey = "token";
    public const string GithubUserKey = "github_user";

    /// <summary><c>true</c>: plain http:// to a server that is not on this machine is allowed (the token travels in clear).</summary>
    public const string InsecureKey = "insecure";
    public const string DefaultServer = "http://127.0.0.1:8484";

    public static readonly IReadOnlyList<string> Keys = [ServerKey, TokenKey, GithubUserKey, InsecureKey];

    /// <summary>A server URL that names the API path (<c>…/api/v1</c>) rather than the server's root: the routes would be
    /// doubled and every request answer 404; null when the URL is a root.</summary>
    public static string? ApiPathProblem(Uri url) =>
        url.AbsolutePath.TrimEnd('/').EndsWith("/api/v1", StringComparison.OrdinalIgnoreCase) || url.AbsolutePath.TrimEnd('/').EndsWith("/api", StringComparison.OrdinalIgnoreCase)
            ? $"the server URL \"{url.OriginalString.TrimEnd('/')}\" ends in the API path; give the server's root instead: {url.GetLeftPart(UriPartial.Authority)}{url.AbsolutePath.TrimEnd('/')[..url.AbsolutePath.TrimEnd('/').LastIndexOf("/api", StringComparison.OrdinalIgnoreCase)]}"
            : null;

    public string Directory
    {
        get
        {
            var dir = environment.GetVariable(EnvVars.ConfigDir);
            if (dir is not null)
            {
                return dir;
            }

            var xdg = environment.GetVariable(EnvVars.XdgConfigHome);
            return xdg is not null
                ? Path.Combine(xdg, "gpu-dev")
                : Path.Combine(environment.HomeDirectory, ".config", "gpu-dev");
        }
    }

    public string FilePath => Path.Combine(Directory, "config.json");

    public ConfigValue Get(string key)
    {
        var envName = key switch
        {
            ServerKey => EnvVars.Server,
            TokenKey => EnvVars.Token,
            InsecureKey => EnvVars.Insecure,
            _ => null,
        };
        if (envName is not null && environment.GetVariable(envName) is { } fromEnv)
        {
            return new ConfigValue(fromEnv, ConfigSource.Environment);
        }

        if (GetFromFile(key) is { } s)
        {
            return new ConfigValue(s, ConfigSource.File);
        }

        return key == ServerKey ? new ConfigValue(DefaultServer, ConfigSource.Default) : new ConfigValue(null, ConfigSource.Default);
    }

    public void Set(string key, string value)
    {
        var file = Load();
        file[key] = JsonValue.Create(value);
        Save(file);
    }

    /// <summary>Removes <paramref name="key"/> from the file (the environment is not ours to change); false when the file
    /// did not have it.</summary>
    public bool Unset(string key)
    {
        var file = Load();
        if (!file.Remove(key))
        {
            return false;
        }

        Save(file);
        return true;
    }

    /// <summary>The value in the file alone, whatever the environment says.</summary>
    public string? GetFromFile(string key) =>
        Load()[key] is JsonValue v && v.TryGetValue<string>(out var s) && !string.IsNullOrEmpty(s) ? s : null;

    private JsonObject Load()
    {
        var path = FilePath;
        if (!File.Exists(path))
        {
            return [];
        }

        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                ?? throw new CliException(ExitCodes.Failure, $"config file {path} is not a JSON object");
        }
        catch (JsonException ex)
        {
            throw new CliException(ExitCodes.Failure, $"cannot read config file {path}: {ex.Message}", "fix or delete the file");
        }
    }

    private void Save(JsonObject file)
    {
        var dir = Directory;
        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(dir);
        }
        else
        {
            System.IO.Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var path = FilePath;
        var tmp = Path.Combine(dir, $".config.json.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            using (var stream = new FileStream(tmp, options))
            using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            {
                file.WriteTo(writer);
                writer.Flush();
                stream.WriteByte((byte)'\n');
                stream.Flush(flushToDisk: true);
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
