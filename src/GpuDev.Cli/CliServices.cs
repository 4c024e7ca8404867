using GpuDev.Cli.Client;
using GpuDev.Cli.Config;
using GpuDev.Cli.Output;
using GpuDev.Cli.Ssh;

namespace GpuDev.Cli;

/// <summary>What commands depend on: the console, the environment, config, time and a factory for the API client.</summary>
internal sealed class CliServices
{
    public required IConsoleOutput Console { get; init; }

    public required ICliEnvironment Environment { get; init; }

    /// <summary>Handler for the API client; null uses a real <see cref="SocketsHttpHandler"/>. Tests pass a fake.</summary>
    public HttpMessageHandler? HttpHandler { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>How often <c>reserve</c> polls while waiting.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often <c>list --watch</c> refreshes.</summary>
    public TimeSpan WatchInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How often <c>avail --watch</c> refreshes.</summary>
    public TimeSpan AvailWatchInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often an open menu with live numbers (<c>reserve</c>'s GPU type and count) fetches them again.</summary>
    public TimeSpan MenuRefreshInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Set by <c>-v/--verbose</c>; GPU_DEV_DEBUG=1 turns it on for every command.</summary>
    public bool Verbose { get; set; }

    public bool Debug => Verbose || Environment.GetVariable(EnvVars.Debug) is { } v && v != "0" && !v.Equals("false", StringComparison.OrdinalIgnoreCase);

    public ConfigStore Config => new(Environment);

    /// <summary>The per-reservation ssh config and known_hosts files under ~/.gpu-dev ($GPU_DEV_HOME).</summary>
    public SshFiles SshFiles => new(Environment);

    public SshInclude SshInclude => new(Environment, SshFiles);

    /// <summary>True when we may ask questions: stdin and stdout are terminals and CI is unset.</summary>
    public bool CanPrompt => Console.IsInputTty && Console.IsOutputTty && Environment.GetVariable(EnvVars.Ci) is null;

    public static CliServices CreateDefault() => new()
    {
        Console = new SystemConsoleOutput(),
        Environment = new SystemCliEnvironment(),
    };

    /// <summary>Where <c>keys add -</c> reads from; tests pass a reader.</summary>
    public Func<TextReader> StandardInput { get; init; } = () => global::System.Console.In;

    /// <summary>Opens a URL in the user's browser (<c>gpu-dev login</c>); false when nothing could be started. Tests record it.</summary>
    public Func<string, bool> OpenBrowser { get; init; } = Login.BrowserLauncher.TryOpen;

    /// <summary>Where <c>gpu-dev login --aws</c> finds AWS credentials: the AWS SDK's resolution. Tests pass fixed ones.</summary>
    public Login.Aws.IAwsCredentialSource AwsCredentials { get; init; } = new Login.Aws.SdkAwsCredentialSource();

    /// <summary>This machine's name, for the name of a login's token ("login HOST").</summary>
    public string HostName { get; init; } = global::System.Environment.MachineName;

    /// <summary>Builds the API client from config; fails with exit code 4 when no token is configured.</summary>
    public GpuDevClient CreateClient()
    {
        var url = ServerUrl();
        var token = Config.Get(ConfigStore.TokenKey).Value;
        if (string.IsNullOrWhiteSpace(token))
        {
            throw new CliException(ExitCodes.AuthRequired, "not authenticated: no API token is configured", GpuDevClient.AuthHint);
        }

        return CreateClient(url, token.Trim());
    }

    /// <summary>A client for <paramref name="url"/> (checked by <see cref="ServerUrl"/>) sending <paramref name="token"/>, or no
    /// token at all when it is null (sign-in routes).</summary>
    public GpuDevClient CreateClient(Uri url, string? token) =>
        new(CreateHttpClient(), url, token, Debug ? Console.Error : null);

    /// <summary>A plain HTTP client on the same handler as the API client (the OpenID provider's endpoints).</summary>
    public HttpClient CreateHttpClient()
    {
        var handler = HttpHandler ?? new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10) };
        return new HttpClient(handler, disposeHandler: HttpHandler is null) { Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>The server's root URL: <paramref name="explicitUrl"/> (a <c>--server</c> flag) when given, else the
    /// environment, the config file or the default; refused when it is not an absolute http(s) root URL, or when it is
    /// plain http:// to another machine without <c>insecure</c> (a token would travel in clear).</summary>
    public Uri ServerUrl(string? explicitUrl = null)
    {
        var config = Config;
        var server = explicitUrl ?? config.Get(ConfigStore.ServerKey).Value ?? ConfigStore.DefaultServer;
        if (!Uri.TryCreate(server.EndsWith('/') ? server : server + "/", UriKind.Absolute, out var url)
            || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            throw explicitUrl is null
                ? new CliException(ExitCodes.Failure, $"the server URL \"{server}\" is not an absolute http(s) URL",
                    "run `gpu-dev config set server URL`, e.g. http://127.0.0.1:8484")
                : CliException.Usage($"--server must be an absolute http or https URL, e.g. http://127.0.0.1:8484; got \"{server}\"");
        }

        if (ConfigStore.ApiPathProblem(url) is { } apiPath)
        {
            throw new CliException(ExitCodes.Failure, apiPath, "run `gpu-dev config set server URL` with the server's root URL, e.g. http://127.0.0.1:8484");
        }

        RefuseCleartext(url, "your token");
        return url;
    }

    /// <summary>Plain http:// is for this machine only, unless <c>insecure</c> says the network is trusted: what
    /// <paramref name="what"/> names would travel in clear.</summary>
    public void RefuseCleartext(Uri url, string what)
    {
        if (url.Scheme == Uri.UriSchemeHttp && !url.IsLoopback && Config.Get(ConfigStore.InsecureKey).Value is not ("1" or "true"))
        {
            throw new CliException(ExitCodes.Failure,
                $"refusing to send {what} in clear to {url.GetLeftPart(UriPartial.Authority)}: plain http:// is only for a server on this machine",
                $"use https://, or `gpu-dev config set insecure true` (or {EnvVars.Insecure}=1) if the network between you and the server is trusted");
        }
    }
}
