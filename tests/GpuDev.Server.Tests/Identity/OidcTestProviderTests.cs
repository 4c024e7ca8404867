using GpuDev.Testing.Oidc;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace GpuDev.Server.Tests.Identity;

/// <summary>The OpenID test provider that the device-code login will be tested against is a real one, and usable from
/// here: its tokens validate with the same Microsoft.IdentityModel code a server uses, the user's side is completed only
/// through its pages, and it behaves as the protocol says (pending, single use, denial, key rotation).</summary>
public sealed class OidcTestProviderTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Discovery_PublishesTheDeviceEndpointAndTheKeys()
    {
        await using var oidc = await StartAsync();

        var discovery = await oidc.GetDiscoveryAsync(Ct);
        Assert.Equal(oidc.Issuer, discovery["issuer"]!.GetValue<string>());
        Assert.Equal($"{oidc.Issuer}/device/auth", discovery["device_authorization_endpoint"]!.GetValue<string>());
        Assert.Contains("urn:ietf:params:oauth:grant-type:device_code", discovery["grant_types_supported"]!.AsArray().Select(g => g!.GetValue<string>()));
        var config = await Manager(oidc).GetConfigurationAsync(Ct);
        Assert.Equal(discovery["jwks_uri"]!.GetValue<string>(), config.JwksUri);
        Assert.Contains(config.JsonWebKeySet.Keys, k => k is { Kty: "RSA", Alg: "RS256", Use: "sig" });
        Assert.Contains(config.JsonWebKeySet.Keys, k => k is { Kty: "EC", Alg: "ES256", Use: "sig" });
        Assert.Equal(config.JsonWebKeySet.Keys.Count, config.SigningKeys.Count);
    }

    [Fact]
    public async Task DeviceFlow_PendingUntilTheUserLogsIn_ThenAnIdTokenWithTheirClaims()
    {
        await using var oidc = await StartAsync();
        var device = await oidc.StartDeviceAuthorizationAsync(cancellationToken: Ct);
        Assert.Equal(oidc.VerificationUri, device.VerificationUri);

        Assert.Equal("authorization_pending", (await oidc.PollTokenAsync(device.DeviceCode, Ct)).Error);
        await oidc.CompleteDeviceLoginAsync(device.UserCode, "u-alice", cancellationToken: Ct);
        var token = await oidc.PollTokenAsync(device.DeviceCode, Ct);

        Assert.Null(token.Error);
        var result = await ValidateAsync(oidc, await Manager(oidc).GetConfigurationAsync(Ct), token.IdToken!);
        Assert.True(result.IsValid, result.Exception?.ToString());
        var claims = result.ClaimsIdentity;
        Assert.Equal("u-alice", claims.FindFirst("sub")!.Value);
        Assert.Equal("alice@example.com", claims.FindFirst("email")!.Value);
        Assert.Equal("true", claims.FindFirst("email_verified")!.Value);
        Assert.Equal("Alice", claims.FindFirst("name")!.Value);
        Assert.Equal("alice", claims.FindFirst("preferred_username")!.Value);
        Assert.Equal(["gpu-users"], claims.FindAll("groups").Select(c => c.Value));
    }

    [Fact]
    public async Task Es256Client_GetsEs256IdTokens()
    {
        await using var oidc = await StartAsync("ES256");

        var idToken = await LoginAsync(oidc, "u-bob");

        Assert.Equal("ES256", new JsonWebToken(idToken).Alg);
        var result = await ValidateAsync(oidc, await Manager(oidc).GetConfigurationAsync(Ct), idToken);
        Assert.True(result.IsValid, result.Exception?.ToString());
        Assert.Equal(["gpu-users", "gpu-admins"], result.ClaimsIdentity.FindAll("groups").Select(c => c.Value));
    }

    [Fact]
    public async Task DeviceCode_IsSingleUse()
    {
        await using var oidc = await StartAsync();
        var device = await oidc.StartDeviceAuthorizationAsync(cancellationToken: Ct);
        await oidc.CompleteDeviceLoginAsync(device.UserCode, "u-alice", cancellationToken: Ct);
        Assert.NotNull((await oidc.PollTokenAsync(device.DeviceCode, Ct)).IdToken);

        var replay = await oidc.PollTokenAsync(device.DeviceCode, Ct);

        Assert.Equal("invalid_grant", replay.Error);
        Assert.Null(replay.IdToken);
    }

    [Fact]
    public async Task RotatedKeys_NewTokensCarryTheNewKid_OldTokensStillValidate()
    {
        await using var oidc = await StartAsync();
        var manager = Manager(oidc);
        var before = await LoginAsync(oidc, "u-alice");
        var config = await manager.GetConfigurationAsync(Ct);
        Assert.True((await ValidateAsync(oidc, config, before)).IsValid);

        var kids = await oidc.RotateKeysAsync(Ct);
        var after = await LoginAsync(oidc, "u-bob");

        Assert.Equal(kids[0], new JsonWebToken(after).Kid);
        Assert.NotEqual(new JsonWebToken(before).Kid, new JsonWebToken(after).Kid);
        var stale = await ValidateAsync(oidc, config, after);
        Assert.IsAssignableFrom<SecurityTokenInvalidSignatureException>(stale.Exception);

        manager.RequestRefresh();
        config = await RefreshedAsync(manager, kids[0]);
        var validAfter = await ValidateAsync(oidc, config, after);
        Assert.True(validAfter.IsValid, validAfter.Exception?.ToString());
        Assert.Equal("u-bob", validAfter.ClaimsIdentity.FindFirst("sub")!.Value);
        Assert.True((await ValidateAsync(oidc, config, before)).IsValid);
    }

    [Fact]
    public async Task Denied_PollGetsAccessDenied()
    {
        await using var oidc = await StartAsync();
        var device = await oidc.StartDeviceAuthorizationAsync(cancellationToken: Ct);

        await oidc.CompleteDeviceLoginAsync(device.UserCode, "u-alice", approve: false, cancellationToken: Ct);
        var token = await oidc.PollTokenAsync(device.DeviceCode, Ct);

        Assert.Equal("access_denied", token.Error);
        Assert.Null(token.IdToken);
    }

    private static async Task<OidcTestProvider> StartAsync(string idTokenAlgorithm = "RS256")
    {
        return await OidcTestProvider.StartAsync(idTokenAlgorithm: idTokenAlgorithm, cancellationToken: Ct);
    }

    private static async Task<string> LoginAsync(OidcTestProvider oidc, string account)
    {
        var device = await oidc.StartDeviceAuthorizationAsync(cancellationToken: Ct);
        await oidc.CompleteDeviceLoginAsync(device.UserCode, account, cancellationToken: Ct);
        var token = await oidc.PollTokenAsync(device.DeviceCode, Ct);
        return token.IdToken ?? throw new InvalidOperationException($"no id_token: {token.Error} {token.ErrorDescription}");
    }

    private static ConfigurationManager<OpenIdConnectConfiguration> Manager(OidcTestProvider oidc) =>
        new(oidc.DiscoveryUri.ToString(), new OpenIdConnectConfigurationRetriever(), new HttpDocumentRetriever { RequireHttps = false });

    /// <summary>After <c>RequestRefresh</c> the manager fetches in the background: the configuration once it has <paramref name="kid"/>.</summary>
    private static async Task<OpenIdConnectConfiguration> RefreshedAsync(ConfigurationManager<OpenIdConnectConfiguration> manager, string kid)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var config = await manager.GetConfigurationAsync(Ct);
            if (config.SigningKeys.Any(k => k.KeyId == kid))
            {
                return config;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the configuration manager did not fetch key {kid}");
            await Task.Delay(20, Ct);
        }
    }

    private static Task<TokenValidationResult> ValidateAsync(OidcTestProvider oidc, OpenIdConnectConfiguration config, string idToken) =>
        new JsonWebTokenHandler().ValidateTokenAsync(idToken, new TokenValidationParameters
        {
            ValidIssuer = oidc.Issuer,
            ValidAudience = oidc.ClientId,
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256, SecurityAlgorithms.EcdsaSha256],
            IssuerSigningKeys = config.SigningKeys,
        });
}
