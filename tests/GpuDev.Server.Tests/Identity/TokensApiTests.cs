using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using GpuDev.Contracts;
using GpuDev.Core.Audit;
using Microsoft.Extensions.DependencyInjection;

namespace GpuDev.Server.Tests.Identity;

/// <summary>A user's own tokens: made with a name and a lifetime, listed without their secrets, revoked (and logout
/// revokes the token in use); a revoked or expired token is refused at once with what to do, and audited.</summary>
public sealed class TokensApiTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Create_List_Revoke_RevokedTokenRefusedAtOnceWithLogInAgain()
    {
        await using var server = new ServerFixture();
        var alice = await server.ClientForAsync("alice");
        server.Time.Advance(TimeSpan.FromMinutes(1)); // listed newest first

        var created = await CreateAsync(alice, new CreateTokenRequest("laptop", 48));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var token = (await created.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.CreatedTokenDto, Ct))!;
        Assert.StartsWith("gdt_", token.Token, StringComparison.Ordinal);
        Assert.Equal(("laptop", "api", server.Time.GetUtcNow().AddHours(48)), (token.Record.Name, token.Record.Kind, token.Record.ExpiresAt));
        var laptop = With(server, token.Token);
        Assert.Equal("alice", (await laptop.GetFromJsonAsync(Routes.Me, GpuDevJsonContext.Default.MeDto, Ct))!.Name);

        var listed = (await alice.GetFromJsonAsync(Routes.Tokens, GpuDevJsonContext.Default.ListTokenDto, Ct))!;
        Assert.Equal(["laptop", "initial"], listed.Select(t => t.Name));
        Assert.Equal([false, true], listed.Select(t => t.Current));
        Assert.DoesNotContain(token.Token, await alice.GetStringAsync(Routes.Tokens, Ct), StringComparison.Ordinal);

        var revoked = await alice.DeleteAsync(Routes.Token(token.Record.Id[..6]), Ct);
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        var refused = await laptop.GetAsync(Routes.Me, Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        var detail = await DetailAsync(refused);
        Assert.Contains("The token 'laptop' was revoked at", detail, StringComparison.Ordinal);
        Assert.Contains("log in again with 'gpu-dev login'", detail, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, (await alice.DeleteAsync(Routes.Token(token.Record.Id), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync(Routes.Me, Ct)).StatusCode);

        var audit = await server.Services.GetRequiredService<IAuditLog>().QueryAsync(new AuditQuery(Target: token.Record.Id), Ct);
        Assert.Contains(audit, e => e is { Action: "POST /api/v1/tokens", Outcome: 201, Actor: "alice" });
        Assert.Contains(audit, e => e is { Action: "DELETE /api/v1/tokens/{id}", Outcome: 200, Actor: "alice" });
    }

    [Fact]
    public async Task ExpiredToken_RefusedWithWhenAndWhatToDo()
    {
        await using var server = new ServerFixture();
        var alice = await server.ClientForAsync("alice");
        var token = (await (await CreateAsync(alice, new CreateTokenRequest("short", 1))).Content.ReadFromJsonAsync(GpuDevJsonContext.Default.CreatedTokenDto, Ct))!;
        var client = With(server, token.Token);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(Routes.Me, Ct)).StatusCode);

        server.Time.Advance(TimeSpan.FromHours(1));
        var refused = await client.GetAsync(Routes.Me, Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains($"The token 'short' expired at {token.Record.ExpiresAt:yyyy-MM-dd HH:mm} UTC; log in again", await DetailAsync(refused), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logout_RevokesTheTokenInUse_Only()
    {
        await using var server = new ServerFixture();
        var alice = await server.ClientForAsync("alice");
        var other = With(server, (await (await CreateAsync(alice, new CreateTokenRequest("other", null))).Content.ReadFromJsonAsync(GpuDevJsonContext.Default.CreatedTokenDto, Ct))!.Token);

        Assert.Equal(HttpStatusCode.OK, (await alice.PostAsync(Routes.Logout, null, Ct)).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await alice.GetAsync(Routes.Me, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync(Routes.Me, Ct)).StatusCode);
    }

    [Theory]
    [InlineData("{\"name\":\"x\",\"ttlHours\":0}", "A token lasts between 5 minutes and 365 days")]
    [InlineData("{\"name\":\"x\",\"ttlHours\":9000}", "A token lasts between 5 minutes and 365 days")]
    [InlineData("{\"name\":\"bad\\u0007name\"}", "A token name is 1-64 printable characters")]
    public async Task Create_BadInput_400WithTheRule_NothingCreated(string body, string rule)
    {
        await using var server = new ServerFixture();
        var alice = await server.ClientForAsync("alice");

        var response = await alice.PostAsync(Routes.Tokens, new StringContent(body, System.Text.Encoding.UTF8, "application/json"), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(rule, await DetailAsync(response), StringComparison.Ordinal);
        Assert.Single((await alice.GetFromJsonAsync(Routes.Tokens, GpuDevJsonContext.Default.ListTokenDto, Ct))!);
    }

    private static Task<HttpResponseMessage> CreateAsync(HttpClient client, CreateTokenRequest request) =>
        client.PostAsJsonAsync(Routes.Tokens, request, GpuDevJsonContext.Default.CreateTokenRequest, Ct);

    private static HttpClient With(ServerFixture server, string token)
    {
        var client = server.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    internal static async Task<string> DetailAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ProblemDto, Ct))!.Detail ?? "";
}
