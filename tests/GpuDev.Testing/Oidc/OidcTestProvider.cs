using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace GpuDev.Testing.Oidc;

/// <summary>A real OpenID Provider (oidc-provider, OpenID Certified, in <c>tests/oidc-provider</c>) in a node process on a
/// free loopback port, so the device-code login is tested against the protocol as a real identity provider speaks it,
/// not against tokens the test minted itself. Everything goes over HTTP: the CLI's side (device authorization, token
/// polls) and the user's side (the provider's own pages, submitted as a browser would). Killed on dispose.</summary>
public sealed class OidcTestProvider : IAsyncDisposable
{
    public const string DefaultClientId = "gpu-dev-cli";
    /// <summary>The web dashboard's client, registered when a test passes its redirect URI (a public web client: the
    /// authorization code grant with PKCE).</summary>
    public const string WebClientId = "gpu-dev-web";
    public const string DefaultScope = "openid email profile groups";
    private const string DeviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code";
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly TaskCompletionSource<string> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private JsonObject? _discovery;

    private OidcTestProvider(Process process, string clientId)
    {
        _process = process;
        ClientId = clientId;
        process.OutputDataReceived += (_, e) =>
        {
            Append(e.Data);
            if (e.Data?.StartsWith("READY ", StringComparison.Ordinal) == true)
            {
                _ready.TrySetResult(e.Data["READY ".Length..]);
            }
        };
        process.ErrorDataReceived += (_, e) => Append(e.Data);
    }

    public static IReadOnlyList<OidcTestAccount> DefaultAccounts { get; } =
    [
        new("u-alice", "alice@example.com", "Alice", "alice", ["gpu-users"]),
        new("u-bob", "bob@example.com", "Bob", "bob", ["gpu-users", "gpu-admins"]),
    ];

    /// <summary>The issuer exactly as it appears in tokens (<c>http://127.0.0.1:PORT</c>, no trailing slash).</summary>
    public string Issuer { get; private set; } = "";

    public string ClientId { get; }

    public Uri DiscoveryUri => new($"{Issuer}/.well-known/openid-configuration");

    /// <summary>The page where a user enters the code (oidc-provider's <c>/device</c>; discovery does not list it, the
    /// device authorization response does).</summary>
    public Uri VerificationUri => new($"{Issuer}/device");

    /// <summary>The provider's stdout and stderr so far (one line per request): for failure messages.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>The provider's folder, found from the test's base directory up to the repository root.</summary>
    public static string ProviderDirectory { get; } = Path.Combine(FindRepoRoot(), "tests", "oidc-provider");

    /// <summary>Why the provider cannot start here (node or its packages missing), or null when it can.</summary>
    public static string? WhyUnavailable()
    {
        var pathDirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        if (!pathDirs.Any(d => File.Exists(Path.Combine(d, "node"))))
        {
            return "the OpenID test provider needs node on PATH (apt-get install nodejs npm)";
        }

        return Directory.Exists(Path.Combine(ProviderDirectory, "node_modules", "oidc-provider"))
            ? null
            : $"the OpenID test provider's packages are not installed in {ProviderDirectory}: run: cd tests/oidc-provider && npm ci (.ci/run does)";
    }

    /// <summary>Starts a provider with <paramref name="accounts"/> (default <see cref="DefaultAccounts"/>) and one public
    /// native client that may use the device grant, its ID tokens signed with <paramref name="idTokenAlgorithm"/>
    /// (RS256 or ES256); with <paramref name="webRedirectUri"/>, also the dashboard's web client (<see cref="WebClientId"/>)
    /// that may be sent back only there, and after signing out to the same server's <c>/ui/signin</c> (a confidential
    /// client with <paramref name="webClientSecret"/>, which it must then
    /// present with HTTP Basic at the token endpoint); waits for it to listen.</summary>
    public static async Task<OidcTestProvider> StartAsync(IReadOnlyList<OidcTestAccount>? accounts = null, string clientId = DefaultClientId,
        string idTokenAlgorithm = "RS256", TimeSpan? deviceCodeLifetime = null, TimeSpan? idTokenLifetime = null, string? webRedirectUri = null,
        string? webClientSecret = null, CancellationToken cancellationToken = default)
    {
        if (WhyUnavailable() is { } reason)
        {
            // CI installs both (.ci/run): a test that cannot run where CI runs fails, with what to do.
            throw new InvalidOperationException(reason);
        }

        var accountsJson = new JsonArray([.. (accounts ?? DefaultAccounts).Select(a => new JsonObject
        {
            ["sub"] = a.Sub, ["email"] = a.Email, ["email_verified"] = a.EmailVerified, ["name"] = a.Name,
            ["preferred_username"] = a.PreferredUsername, ["groups"] = new JsonArray([.. a.Groups.Select(g => JsonValue.Create(g))]),
        })]);
        var clientsJson = new JsonArray(new JsonObject
        {
            ["client_id"] = clientId, ["application_type"] = "native", ["token_endpoint_auth_method"] = "none",
            ["grant_types"] = new JsonArray(DeviceCodeGrant, "refresh_token"), ["response_types"] = new JsonArray(), ["redirect_uris"] = new JsonArray(),
            ["id_token_signed_response_alg"] = idTokenAlgorithm,
        });
        if (webRedirectUri is not null)
        {
            var web = new JsonObject
            {
                ["client_id"] = WebClientId, ["application_type"] = "web",
                ["token_endpoint_auth_method"] = webClientSecret is null ? "none" : "client_secret_basic",
                ["grant_types"] = new JsonArray("authorization_code"), ["response_types"] = new JsonArray("code"),
                ["redirect_uris"] = new JsonArray(webRedirectUri), ["id_token_signed_response_alg"] = idTokenAlgorithm,
                // After signing out here, back to the dashboard's sign-in page on the same server.
                ["post_logout_redirect_uris"] = new JsonArray(webRedirectUri.Replace("/ui/signin/oidc/callback", "/ui/signin", StringComparison.Ordinal)),
            };
            if (webClientSecret is not null)
            {
                web["client_secret"] = webClientSecret;
            }

            clientsJson.Add(web);
        }

        var info = new ProcessStartInfo("node")
        {
            WorkingDirectory = ProviderDirectory, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "provider.mjs", "--exit-with-stdin", "--port", "0", "--accounts", accountsJson.ToJsonString(), "--clients", clientsJson.ToJsonString(),
            "--device-code-ttl", Seconds(deviceCodeLifetime ?? TimeSpan.FromMinutes(10)), "--id-token-ttl", Seconds(idTokenLifetime ?? TimeSpan.FromHours(1)),
        })
        {
            info.ArgumentList.Add(arg);
        }

        var provider = new OidcTestProvider(Process.Start(info) ?? throw new InvalidOperationException("node did not start"), clientId);
        try
        {
            provider._process.BeginOutputReadLine();
            provider._process.BeginErrorReadLine();
            var exited = provider._process.WaitForExitAsync(cancellationToken);
            var first = await Task.WhenAny(provider._ready.Task, exited).WaitAsync(s_startTimeout, cancellationToken);
            if (first != provider._ready.Task)
            {
                await exited;
                throw new InvalidOperationException($"the OpenID test provider exited with {provider._process.ExitCode} before it listened:\n{provider.Log}");
            }

            provider.Issuer = JsonNode.Parse(await provider._ready.Task)!["issuer"]!.GetValue<string>();
            return provider;
        }
        catch (TimeoutException)
        {
            await provider.DisposeAsync();
            throw new TimeoutException($"the OpenID test provider did not print READY within {s_startTimeout.TotalSeconds} s:\n{provider.Log}");
        }
        catch
        {
            await provider.DisposeAsync();
            throw;
        }
    }

    /// <summary>The discovery document (fetched once).</summary>
    public async Task<JsonObject> GetDiscoveryAsync(CancellationToken cancellationToken = default) =>
        _discovery ??= JsonNode.Parse(await _http.GetStringAsync(DiscoveryUri, cancellationToken))!.AsObject();

    /// <summary>What the CLI does first: asks the device authorization endpoint (from discovery) for a device and user code.</summary>
    public async Task<DeviceAuthorization> StartDeviceAuthorizationAsync(string scope = DefaultScope, CancellationToken cancellationToken = default)
    {
        var endpoint = await EndpointAsync("device_authorization_endpoint", cancellationToken);
        using var response = await _http.PostAsync(endpoint, Form(("client_id", ClientId), ("scope", scope)), cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"device authorization failed ({(int)response.StatusCode}): {body}\n{Log}");
        }

        var json = JsonNode.Parse(body)!;
        return new DeviceAuthorization(
            json["device_code"]!.GetValue<string>(), json["user_code"]!.GetValue<string>(), new Uri(json["verification_uri"]!.GetValue<string>()),
            json["verification_uri_complete"]?.GetValue<string>() is { } complete ? new Uri(complete) : null,
            TimeSpan.FromSeconds(json["expires_in"]!.GetValue<int>()),
            // RFC 8628 §3.2: a client that is given no interval waits 5 seconds between polls.
            TimeSpan.FromSeconds(json["interval"]?.GetValue<int>() ?? 5));
    }

    /// <summary>One token request with the device code, as the CLI polls: the tokens, or the OAuth error code.</summary>
    public async Task<TokenResponse> PollTokenAsync(string deviceCode, CancellationToken cancellationToken = default)
    {
        var endpoint = await EndpointAsync("token_endpoint", cancellationToken);
        using var response = await _http.PostAsync(endpoint, Form(("grant_type", DeviceCodeGrant), ("device_code", deviceCode), ("client_id", ClientId)), cancellationToken);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken))!;
        string? Text(string name) => json[name]?.GetValue<string>();
        return new TokenResponse((int)response.StatusCode, Text("id_token"), Text("access_token"), Text("refresh_token"), Text("error"), Text("error_description"));
    }

    /// <summary>The user's side of the device flow, as a browser with its own cookies does it: the verification page, the
    /// user code (with the page's xsrf field), the device confirmation, the login form with <paramref name="accountId"/>,
    /// then consent: allowed, or denied when <paramref name="approve"/> is false (the CLI's next poll gets
    /// <c>access_denied</c>). Throws with the page when a step does not show what a browser would expect.</summary>
    public async Task CompleteDeviceLoginAsync(string userCode, string accountId, bool approve = true, CancellationToken cancellationToken = default)
    {
        using var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = true };
        using var browser = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        var page = await BrowseAsync(browser, new HttpRequestMessage(HttpMethod.Get, VerificationUri), cancellationToken);
        var form = Expect(page, HtmlForm.WithField(page.Html, page.Uri, "user_code"), "the user code form");
        form.Fields["user_code"] = userCode;
        page = await SubmitAsync(browser, form, cancellationToken);

        form = Expect(page, HtmlForm.WithField(page.Html, page.Uri, "confirm"), "the device confirmation form");
        page = await SubmitAsync(browser, form, cancellationToken);

        form = Expect(page, HtmlForm.WithField(page.Html, page.Uri, "login"), "the login form");
        form.Fields["login"] = accountId;
        page = await SubmitAsync(browser, form, cancellationToken);

        form = Expect(page, HtmlForm.WithAction(page.Html, page.Uri, "/confirm"), "the consent form");
        form.Fields["decision"] = approve ? "approve" : "deny";
        page = await SubmitAsync(browser, form, cancellationToken);

        var succeeded = page.Html.Contains("<title>Sign-in success</title>", StringComparison.Ordinal);
        if (succeeded != approve)
        {
            throw new InvalidOperationException($"the login {(approve ? "did not succeed" : "was not denied")}: {page.Uri} ({page.Status}):\n{page.Html}\n{Log}");
        }
    }

    /// <summary>The user's side of the authorization code flow, as a browser with its own cookies does it: opens
    /// <paramref name="authorizationUrl"/> (what the dashboard redirected to), logs in as <paramref name="accountId"/> and
    /// allows (or denies) consent, following the provider's own redirects; returns where the provider finally sends the
    /// browser (the client's redirect URI with <c>code</c> and <c>state</c>, or <c>error</c>), without going there.</summary>
    public async Task<Uri> AuthorizeAsync(Uri authorizationUrl, string accountId, bool approve = true, CancellationToken cancellationToken = default)
    {
        using var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false };
        using var browser = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        var next = (Method: HttpMethod.Get, Uri: authorizationUrl, Form: (HtmlForm?)null);
        for (var step = 0; step < 20; step++)
        {
            using var request = new HttpRequestMessage(next.Method, next.Uri) { Content = next.Form?.Content() };
            using var response = await browser.SendAsync(request, cancellationToken);
            if (response.Headers.Location is { } location)
            {
                var target = location.IsAbsoluteUri ? location : new Uri(next.Uri, location);
                if (!target.GetLeftPart(UriPartial.Authority).Equals(new Uri(Issuer).GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase))
                {
                    return target;
                }

                next = (HttpMethod.Get, target, null);
                continue;
            }

            var page = new Page(next.Uri, (int)response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
            if (HtmlForm.WithField(page.Html, page.Uri, "login") is { } login)
            {
                login.Fields["login"] = accountId;
                next = (HttpMethod.Post, login.Action, login);
            }
            else
            {
                var consent = Expect(page, HtmlForm.WithAction(page.Html, page.Uri, "/confirm"), "the login or consent form");
                consent.Fields["decision"] = approve ? "approve" : "deny";
                next = (HttpMethod.Post, consent.Action, consent);
            }
        }

        throw new InvalidOperationException($"the provider did not send the browser back within 20 steps:\n{Log}");
    }

    /// <summary>Has the provider sign with a new key pair from now on, keeping the old keys published; returns the new
    /// key ids (RS256 first).</summary>
    public async Task<IReadOnlyList<string>> RotateKeysAsync(CancellationToken cancellationToken = default)
    {
        using var response = await _http.PostAsync(new Uri($"{Issuer}/test/rotate-keys"), null, cancellationToken);
        response.EnsureSuccessStatusCode();
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken))!;
        return [.. json["kids"]!.AsArray().Select(k => k!.GetValue<string>())];
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        try
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }

        _process.Dispose();
    }

    private static string Seconds(TimeSpan t) => ((long)t.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static FormUrlEncodedContent Form(params (string Name, string Value)[] fields) =>
        new(fields.Select(f => KeyValuePair.Create(f.Name, f.Value)));

    private async Task<Uri> EndpointAsync(string name, CancellationToken cancellationToken) =>
        new((await GetDiscoveryAsync(cancellationToken))[name]?.GetValue<string>() ?? throw new InvalidOperationException($"discovery has no {name}"));

    private static async Task<Page> SubmitAsync(HttpClient browser, HtmlForm form, CancellationToken cancellationToken) =>
        await BrowseAsync(browser, new HttpRequestMessage(HttpMethod.Post, form.Action) { Content = form.Content() }, cancellationToken);

    private static async Task<Page> BrowseAsync(HttpClient browser, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using (request)
        {
            using var response = await browser.SendAsync(request, cancellationToken);
            return new Page(response.RequestMessage?.RequestUri ?? request.RequestUri!, (int)response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
        }
    }

    private HtmlForm Expect(Page page, HtmlForm? form, string what) =>
        form ?? throw new InvalidOperationException($"expected {what} at {page.Uri} ({page.Status}):\n{page.Html}\n{Log}");

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "gpu-dev.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"gpu-dev.slnx not found above {AppContext.BaseDirectory}");
    }

    private sealed record Page(Uri Uri, int Status, string Html);
}
