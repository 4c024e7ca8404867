using System.CommandLine;
using GpuDev.Cli.Config;
using GpuDev.Cli.Login;
using GpuDev.Cli.Login.Aws;
using GpuDev.Cli.Output;
using GpuDev.Contracts;
using Spectre.Console;

namespace GpuDev.Cli.Commands;

/// <summary><c>gpu-dev login [--server URL] [--no-browser]</c>: signs in with the organisation's OpenID provider (device
/// authorization grant, RFC 8628) and keeps the gpu-dev session token the server gives for the ID token.
/// <c>gpu-dev login --aws [--aws-profile NAME]</c>: signs in with the user's AWS credentials instead (a signed, unsent
/// <c>sts:GetCallerIdentity</c> request, as Vault's AWS auth).</summary>
internal sealed class LoginCommand : CliCommand
{
    /// <summary>The server keeps token names to 64 characters.</summary>
    private const int MaxTokenName = 64;

    private const string AskAnAdmin = "ask an admin of the gpu-dev server";

    private readonly Option<string> _server = new("--server")
    {
        HelpName = "URL",
        Description = "The gpu-dev server's root URL (default: GPU_DEV_SERVER, else the config file); saved to the config file when the sign-in succeeds",
    };

    private readonly Option<bool> _noBrowser = new("--no-browser")
    {
        Description = "Do not open a browser; only print the page and the code (a browser opens only in a graphical session that is not over SSH)",
    };

    private readonly Option<bool> _aws = new("--aws")
    {
        Description = "Sign in with your AWS credentials instead, found as the AWS CLI finds them (environment, AWS_PROFILE or the default profile, SSO, role, container, instance)",
    };

    private readonly Option<string> _awsProfile = new("--aws-profile")
    {
        HelpName = "NAME",
        Description = "With --aws: use this profile of ~/.aws/credentials and ~/.aws/config (after `aws sso login --profile NAME` for an SSO profile)",
    };

    public LoginCommand(CliServices services)
        : base(services, "login", "Sign in with your organisation's identity (in a browser, on this or any other device), or with --aws your AWS credentials, and save the token.")
    {
        Options.Add(_server);
        Options.Add(_noBrowser);
        Options.Add(_aws);
        Options.Add(_awsProfile);
        Examples.Add("gpu-dev login");
        Examples.Add("gpu-dev login --server https://gpu-dev.example.com");
        Examples.Add("gpu-dev login --no-browser");
        Examples.Add("gpu-dev login --aws");
        Examples.Add("gpu-dev login --aws --aws-profile dev-sso");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var aws = parseResult.GetValue(_aws);
        var awsProfile = parseResult.GetValue(_awsProfile)?.Trim();
        if (awsProfile is not null && !aws)
        {
            throw CliException.Usage("--aws-profile goes with --aws: gpu-dev login --aws --aws-profile NAME");
        }

        if (awsProfile is { Length: 0 })
        {
            throw CliException.Usage("--aws-profile needs a profile name (see yours with `aws configure list-profiles`)");
        }

        var serverText = parseResult.GetValue(_server)?.Trim();
        var server = Services.ServerUrl(serverText);
        var client = Services.CreateClient(server, token: null);
        var info = await client.GetAuthInfoAsync(cancellationToken).ConfigureAwait(false);
        var result = aws
            ? await SignInWithAwsAsync(client, server, info, awsProfile, cancellationToken).ConfigureAwait(false)
            : await SignInWithOidcAsync(client, server, info, parseResult.GetValue(_noBrowser), cancellationToken).ConfigureAwait(false);

        Save(serverText, result.Token);
        var now = Services.Time.GetUtcNow();
        var admin = result.Admin ? " (admin)" : string.Empty;
        var created = result.Created ? "; new account created" : string.Empty;
        Services.Console.Out.WriteLine($"Signed in as {result.User}{admin} — token expires {Format.HumanTime(result.ExpiresAt, now)}{created}");
        return ExitCodes.Success;
    }

    private async Task<LoginResultDto> SignInWithOidcAsync(Client.GpuDevClient client, Uri server, AuthInfoDto info, bool noBrowser, CancellationToken cancellationToken)
    {
        if (info.Oidc is not { } oidc)
        {
            throw info.Aws
                ? new CliException(ExitCodes.Failure, $"the server at {Shown(server)} signs in with AWS credentials, not with an OpenID provider: run `gpu-dev login --aws`")
                : new CliException(ExitCodes.Failure,
                    $"the server at {Shown(server)} has no sign-in configured: an admin must create a token for you (`gpu-dev admin user add NAME` or `gpu-dev-server user add NAME`)",
                    "then set it with `gpu-dev config set token TOKEN`");
        }

        if (!Uri.TryCreate(oidc.Authority, UriKind.Absolute, out var authority) || (authority.Scheme != Uri.UriSchemeHttps && authority.Scheme != Uri.UriSchemeHttp))
        {
            throw new CliException(ExitCodes.Failure, $"the server at {Shown(server)} names an OpenID provider that is not an http(s) URL: \"{oidc.Authority}\"",
                "tell an admin: the server's OpenID authority setting is wrong");
        }

        using var http = Services.CreateHttpClient();
        var flow = new OidcDeviceFlow(http, Services.Time, url => Services.RefuseCleartext(url, "your sign-in"), Services.Debug ? Services.Console.Error : null);
        string idToken;
        try
        {
            var endpoints = await flow.DiscoverAsync(authority, cancellationToken).ConfigureAwait(false);
            var device = await flow.StartAsync(endpoints, oidc.ClientId, oidc.Scopes, cancellationToken).ConfigureAwait(false);
            ShowCode(device, noBrowser);
            idToken = await flow.WaitForIdTokenAsync(endpoints, oidc.ClientId, device, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw new CliException(ExitCodes.Cancelled, "sign-in stopped; nothing was saved");
        }

        return await RefusedAsOneLine(() => client.LoginWithOidcAsync(new OidcLoginRequest(idToken, TokenName()), cancellationToken), AskAnAdmin).ConfigureAwait(false);
    }

    private async Task<LoginResultDto> SignInWithAwsAsync(Client.GpuDevClient client, Uri server, AuthInfoDto info, string? profile, CancellationToken cancellationToken)
    {
        if (!info.Aws)
        {
            throw new CliException(ExitCodes.Failure, "this server does not sign in with AWS credentials; use 'gpu-dev login' or ask an admin");
        }

        var request = await new AwsLogin(Services).SignAsync(server, info.AwsSigning, profile, TokenName(), cancellationToken).ConfigureAwait(false);

        // A 401 says what was wrong with the signed request and what to do (check the AWS credentials, sign in again).
        return await RefusedAsOneLine(() => client.LoginWithAwsAsync(request, cancellationToken), unauthorizedHint: null).ConfigureAwait(false);
    }

    /// <summary>The server's reason for refusing a sign-in (not in an allowed group or account, a disabled user, a signed
    /// request it would not take) as the message; the usual "sign in with gpu-dev login" hint would send the user round
    /// in a circle.</summary>
    private static async Task<LoginResultDto> RefusedAsOneLine(Func<Task<LoginResultDto>> signIn, string? unauthorizedHint)
    {
        try
        {
            return await signIn().ConfigureAwait(false);
        }
        catch (CliException ex) when (ex.ExitCode == ExitCodes.AuthRequired)
        {
            throw new CliException(ExitCodes.AuthRequired, [.. ex.Messages.Select(m => $"the server refused the sign-in: {m}")],
                ex.HttpStatus == 403 ? AskAnAdmin : unauthorizedHint, ex);
        }
    }

    private void ShowCode(DeviceAuthorization device, bool noBrowser)
    {
        var err = Services.Console.Error;
        var page = device.VerificationUriComplete ?? device.VerificationUri;
        err.WriteLine("To sign in, open this page in a browser, on this machine or any other:");
        err.WriteLine();
        err.WriteLine($"    {page}");
        err.WriteLine();
        err.WriteLine(device.VerificationUriComplete is null ? "and enter this code:" : "and check that it shows this code:");
        err.WriteLine();
        Services.Console.ErrorConsole.MarkupLine($"    [bold]{Markup.Escape(device.UserCode)}[/]");
        err.WriteLine();
        if (!noBrowser && BrowserLauncher.HasGraphicalSession(Services.Environment) && Services.OpenBrowser(page))
        {
            err.WriteLine("(opened in your browser)");
        }

        var expires = device.ExpiresAt is { } at ? $"; the code expires {Format.Relative(at, Services.Time.GetUtcNow())}" : string.Empty;
        err.WriteLine($"Waiting for the sign-in to finish (Ctrl+C to stop){expires}...");
    }

    /// <summary>"login HOST": the session shows in `gpu-dev token list` under the machine it was made on.</summary>
    private string TokenName()
    {
        var host = new string([.. Services.HostName.Where(c => !char.IsControl(c))]);
        var name = $"login {host}".Trim();
        return name.Length > MaxTokenName ? name[..MaxTokenName] : name;
    }

    private void Save(string? serverText, string token)
    {
        var store = Services.Config;
        if (serverText is not null)
        {
            store.Set(ConfigStore.ServerKey, serverText.TrimEnd('/'));
        }

        store.Set(ConfigStore.TokenKey, token);
        var err = Services.Console.Error;
        err.WriteLine($"Saved the token in {store.FilePath}");

        // The environment wins over the file: say so, or the next command would use the old token or server.
        if (Services.Environment.GetVariable(EnvVars.Token) is not null)
        {
            err.WriteLine($"warning: {EnvVars.Token} is set and overrides the saved token; unset it to use this sign-in");
        }

        if (serverText is not null && Services.Environment.GetVariable(EnvVars.Server) is { } envServer
            && !string.Equals(envServer.TrimEnd('/'), serverText.TrimEnd('/'), StringComparison.OrdinalIgnoreCase))
        {
            err.WriteLine($"warning: {EnvVars.Server} is set ({envServer}) and overrides the saved server; unset it to use {serverText}");
        }
    }

    private static string Shown(Uri server) => server.ToString().TrimEnd('/');
}
