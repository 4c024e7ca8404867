using System.Net;
using System.Net.Http.Json;
using GpuDev.Contracts;
using GpuDev.Core.Audit;
using GpuDev.Core.Identity;
using GpuDev.Testing.Aws;
using Microsoft.Extensions.DependencyInjection;

namespace GpuDev.Server.Tests.Identity;

/// <summary>Signing in with AWS credentials: the CLI signs <c>sts:GetCallerIdentity</c> without sending it; the server
/// checks it is that call, for this server, fresh and unused, sends it to STS (here <see cref="FakeSts"/>, which verifies
/// the signature as AWS does) and signs in the ARN STS answers, if its account is allowed.</summary>
public sealed class AwsSignInTests
{
    private const string Account = "123456789012";
    private const string AccessKey = "AKIATESTALICE0000001";
    private const string Secret = "alice-secret-key";
    private const string ServerId = "https://gpu-dev.example";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SignedRequest_SignsInTheRoleSession_CreatedOnce_AdminRoleMakesAdmin_Audited()
    {
        using var sts = new FakeSts().WithKey(AccessKey, Secret, $"arn:aws:sts::{Account}:assumed-role/GpuAdmins/alice@example.com");
        await using var server = Server(sts);

        var first = await SignInAsync(server, Signed(sts));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var login = (await first.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.LoginResultDto, Ct))!;
        Assert.Equal(("alice", true, true), (login.User, login.Admin, login.Created));
        var client = server.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", login.Token);
        Assert.Equal("alice", (await client.GetFromJsonAsync(Routes.Me, GpuDevJsonContext.Default.MeDto, Ct))!.Name);

        var again = (await (await SignInAsync(server, Signed(sts, at: DateTimeOffset.UtcNow.AddSeconds(2)))).Content.ReadFromJsonAsync(GpuDevJsonContext.Default.LoginResultDto, Ct))!;
        Assert.Equal(("alice", false), (again.User, again.Created));
        var audit = await server.Services.GetRequiredService<IAuditLog>().QueryAsync(new AuditQuery(Action: "POST /api/v1/auth/aws"), Ct);
        Assert.Equal(2, audit.Count(e => e is { Actor: "alice", Outcome: 200 }));
        var info = await server.CreateClient().GetFromJsonAsync(Routes.Auth, GpuDevJsonContext.Default.AuthInfoDto, Ct);
        Assert.Equal(new AwsSigningDto(sts.Endpoint, "us-east-1", ServerId), info!.AwsSigning);
    }

    public static TheoryData<string, string, int> Refusals => new()
    {
        { "wrong-secret", "SignatureDoesNotMatch", 1 },
        { "other-server", "it was signed for another server", 0 },
        { "server-id-unsigned", "the header 'x-gpudev-server-id' is not among its signed headers", 0 },
        { "other-url", "it is not addressed to this site's STS endpoint", 0 },
        { "other-action", "its body is not 'Action=GetCallerIdentity&Version=2011-06-15'", 0 },
        { "stale", "more than 15 minutes from this server's clock", 0 },
        { "replay", "it was used before", 1 },
        { "unknown-key", "InvalidClientTokenId", 1 },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task BadOrForeignRequest_401WithTheReason_NothingCreated_Audited(string how, string reason, int stsCalls)
    {
        using var sts = new FakeSts().WithKey(AccessKey, Secret, $"arn:aws:iam::{Account}:user/alice");
        await using var server = Server(sts);
        var request = how switch
        {
            "wrong-secret" => Signed(sts, secret: "not-the-secret"),
            "other-server" => Signed(sts, serverId: "https://another-gpu-dev.example"),
            "server-id-unsigned" => Unsigned(Signed(sts, serverId: null), "X-GpuDev-Server-Id", ServerId),
            "other-url" => Signed(sts) with { Url = "https://evil.example/" },
            "other-action" => Signed(sts, body: "Action=AssumeRole&Version=2011-06-15"),
            "stale" => Signed(sts, at: DateTimeOffset.UtcNow.AddMinutes(-20)),
            "unknown-key" => Signed(sts, accessKey: "AKIAUNKNOWN000000000"),
            _ => Signed(sts),
        };
        if (how == "replay")
        {
            Assert.Equal(HttpStatusCode.OK, (await SignInAsync(server, request)).StatusCode);
        }

        var response = await SignInAsync(server, request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var detail = (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ProblemDto, Ct))!.Detail!;
        Assert.Contains(reason, detail, StringComparison.Ordinal);
        Assert.Equal(stsCalls, sts.Requests);
        Assert.Equal(how == "replay" ? 1 : 0, (await server.Services.GetRequiredService<IIdentityStore>().ListUsersAsync(Ct)).Count);
        var audit = await server.Services.GetRequiredService<IAuditLog>().QueryAsync(new AuditQuery(Action: "POST /api/v1/auth/aws"), Ct);
        Assert.Contains(audit, e => e.Outcome == 401 && e.Actor == "anonymous" && e.Detail!.Contains(reason, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AccountNotAllowed_403_NothingCreated()
    {
        using var sts = new FakeSts().WithKey(AccessKey, Secret, "arn:aws:iam::999999999999:user/mallory");
        await using var server = Server(sts);

        var response = await SignInAsync(server, Signed(sts));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("AWS account 999999999999 may not sign in here", (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ProblemDto, Ct))!.Detail, StringComparison.Ordinal);
        Assert.Empty(await server.Services.GetRequiredService<IIdentityStore>().ListUsersAsync(Ct));
    }

    [Fact]
    public async Task NotEnabled_422()
    {
        using var sts = new FakeSts().WithKey(AccessKey, Secret, $"arn:aws:iam::{Account}:user/alice");
        await using var server = new ServerFixture();

        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await SignInAsync(server, Signed(sts))).StatusCode);
        Assert.Equal(0, sts.Requests);
    }

    private static AwsLoginRequest Signed(FakeSts sts, string accessKey = AccessKey, string secret = Secret, string? serverId = ServerId,
        string body = "Action=GetCallerIdentity&Version=2011-06-15", DateTimeOffset? at = null)
    {
        var extra = serverId is null ? null : new Dictionary<string, string> { ["X-GpuDev-Server-Id"] = serverId };
        var headers = SigV4.SignPost(accessKey, secret, new Uri(sts.Endpoint), body, at ?? DateTimeOffset.UtcNow, "us-east-1", extra);
        return new AwsLoginRequest(sts.Endpoint, body, headers, "test");
    }

    private static AwsLoginRequest Unsigned(AwsLoginRequest request, string header, string value) =>
        request with { Headers = new Dictionary<string, string>(request.Headers) { [header] = value } };

    private static Task<HttpResponseMessage> SignInAsync(ServerFixture server, AwsLoginRequest request) =>
        server.CreateClient().PostAsJsonAsync(Routes.AuthAws, request, GpuDevJsonContext.Default.AwsLoginRequest, Ct);

    private static ServerFixture Server(FakeSts sts)
    {
        var server = new ServerFixture(new Dictionary<string, string>
        {
            ["Auth:Aws:Enabled"] = "true",
            ["Auth:Aws:StsEndpoint"] = sts.Endpoint,
            ["Auth:Aws:AllowedAccounts:0"] = Account,
            ["Auth:Aws:AdminRoles:0"] = "GpuAdmins",
            ["Auth:Aws:ServerId"] = ServerId,
        });
        server.Time.SetUtcNow(DateTimeOffset.UtcNow); // STS (the fake as the real) checks the signing date against the real time
        return server;
    }
}
