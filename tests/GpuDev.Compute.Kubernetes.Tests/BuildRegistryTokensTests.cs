using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;

namespace GpuDev.Compute.Kubernetes.Tests;

public sealed class BuildRegistryTokensTests : IDisposable
{
    private const string A = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private const string B = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    private readonly string _dir = Directory.CreateTempSubdirectory("gpu-dev-tokens-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 7, 10, 0, 0, TimeSpan.Zero));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private BuildRegistryTokens Tokens(string file = "key.pem") => new(Microsoft.Extensions.Options.Options.Create(new KubernetesOptions
    {
        BuildRegistry = "registry.example:5000/team",
        BuildRegistryAuth = "token",
        BuildTokenKeyFile = Path.Combine(_dir, file),
    }), _time);

    [Fact]
    public void Credentials_AreTheBuildsOwn_AndSurviveARestart_ButNotAnotherKey()
    {
        var (user, password) = Tokens().CredentialsFor(A);

        Assert.Equal("build-" + A, user);
        Assert.Equal(A, Tokens().ReservationOf(user, password)); // a second instance (a restart, a replica) reads the same key file
        Assert.Null(Tokens().ReservationOf("build-" + B, password));
        Assert.Null(Tokens().ReservationOf(user, password + "x"));
        Assert.Null(Tokens().ReservationOf("build-../x", password));
        Assert.Null(Tokens().ReservationOf(null, password));
        Assert.Null(Tokens("other.pem").ReservationOf(user, password));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_dir, "key.pem")));
    }

    [Fact]
    public void Grant_PushOnlyToItsOwnRepository_PullOthersButNotOtherBuilds()
    {
        var grants = Tokens().Grant(A,
        [
            $"repository:team/gpu-dev-build/{A}:pull,push",
            $"repository:team/gpu-dev-build/{B}:pull,push",
            "repository:team/base:pull,push",
            "repository:library/ubuntu:pull",
            "registry:catalog:*",
            "nonsense",
        ]);

        Assert.Equal(
            [
                ($"team/gpu-dev-build/{A}", "pull,push"),
                ($"team/gpu-dev-build/{B}", ""),
                ("team/base", "pull"),
                ("library/ubuntu", "pull"),
            ],
            grants.Select(g => (g.Name, string.Join(',', g.Actions))));
    }

    [Fact]
    public void Token_IsAnEs256JwtTheCertificateVerifies_ForTheRegistrysServiceAndAnHour()
    {
        var tokens = Tokens();

        var response = JsonNode.Parse(tokens.TokenResponse(A, [$"repository:team/gpu-dev-build/{A}:push,pull"]))!;

        var jwt = response["token"]!.GetValue<string>();
        Assert.Equal(jwt, response["access_token"]!.GetValue<string>());
        Assert.Equal(3600, response["expires_in"]!.GetValue<int>());
        var parts = jwt.Split('.');
        var header = JsonNode.Parse(Decode(parts[0]))!;
        var claims = JsonNode.Parse(Decode(parts[1]))!;
        Assert.Equal("ES256", header["alg"]!.GetValue<string>());
        using var certificate = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(header["x5c"]![0]!.GetValue<string>()));
        using var published = X509Certificate2.CreateFromPem(tokens.CertificatePem);
        Assert.Equal(published.Thumbprint, certificate.Thumbprint);
        using var key = certificate.GetECDsaPublicKey()!;
        Assert.True(key.VerifyData(Encoding.ASCII.GetBytes($"{parts[0]}.{parts[1]}"), Decode(parts[2]), HashAlgorithmName.SHA256));
        Assert.Equal(("gpu-dev", "registry.example:5000", "build-" + A), (claims["iss"]!.GetValue<string>(), claims["aud"]!.GetValue<string>(), claims["sub"]!.GetValue<string>()));
        Assert.Equal(_time.GetUtcNow().AddHours(1).ToUnixTimeSeconds(), claims["exp"]!.GetValue<long>());
        var access = Assert.Single(claims["access"]!.AsArray())!;
        Assert.Equal($"team/gpu-dev-build/{A}", access["name"]!.GetValue<string>());
        Assert.Equal(["pull", "push"], access["actions"]!.AsArray().Select(a => a!.GetValue<string>()).Order());
    }

    [Fact]
    public void DockerConfig_NamesTheRegistryHostWithTheBuildsCredentials()
    {
        var tokens = Tokens();

        var auth = JsonNode.Parse(tokens.DockerConfigJson(A))!["auths"]!["registry.example:5000"]!;

        var (user, password) = tokens.CredentialsFor(A);
        Assert.Equal($"{user}:{password}", Encoding.UTF8.GetString(Convert.FromBase64String(auth["auth"]!.GetValue<string>())));
    }

    private static byte[] Decode(string part) =>
        Convert.FromBase64String(part.Replace('-', '+').Replace('_', '/') + new string('=', (4 - part.Length % 4) % 4));
}
