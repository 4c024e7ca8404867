using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using GpuDev.Contracts;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace GpuDev.Server.Tests.Security;

/// <summary>Failed authentications are limited per remote address (Server:AuthFailureLimit per AuthFailureWindow):
/// over the limit 429 ProblemDetails with Retry-After; successes never count; time is the fixture's FakeTimeProvider.</summary>
public sealed class RateLimitTests
{
    private static readonly Dictionary<string, string> s_settings = new()
    {
        ["Server:AuthFailureLimit"] = "10",
        ["Server:AuthFailureWindow"] = "00:00:03",
    };

    [Fact]
    public async Task BadTokens_OverLimit_429WithRetryAfterUntilWindowEnds()
    {
        await using var server = new ServerFixture(s_settings);
        var forged = server.CreateClient();
        forged.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "gdt_guess");

        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await forged.GetAsync(Routes.Me)).StatusCode);
        }

        var throttled = await forged.GetAsync(Routes.Me);
        var problem = await throttled.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ProblemDto);
        server.Time.Advance(TimeSpan.FromSeconds(3));
        var later = await forged.GetAsync(Routes.Me);

        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
        Assert.Equal("application/problem+json", throttled.Content.Headers.ContentType?.MediaType);
        Assert.Equal(ProblemCodes.TooManyRequests, problem!.Code);
        Assert.Equal(TimeSpan.FromSeconds(3), throttled.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.Unauthorized, later.StatusCode);
    }

    [Fact]
    public async Task GoodTokens_Interleaved_NeverCountAndNeverThrottled()
    {
        await using var server = new ServerFixture(s_settings);
        var good = await server.ClientForAsync("alice");
        var forged = server.CreateClient();
        forged.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "gdt_guess");

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 9; i++)
        {
            statuses.Add((await forged.GetAsync(Routes.Me)).StatusCode);
            for (var j = 0; j < 5; j++)
            {
                statuses.Add((await good.GetAsync(Routes.Me)).StatusCode);
            }
        }

        Assert.Equal(9, statuses.Count(s => s == HttpStatusCode.Unauthorized));
        Assert.Equal(45, statuses.Count(s => s == HttpStatusCode.OK));
    }

    [Fact]
    public async Task BadTokens_FromOneAddress_OtherAddressUnaffected()
    {
        await using var server = new ServerFixture(s_settings);
        _ = server.CreateClient();
        var attacker = IPAddress.Parse("203.0.113.7");
        var user = IPAddress.Parse("198.51.100.20");
        var token = GpuDev.Server.Identity.Tokens.Generate();
        await server.Store.AddUserAsync("bob", null, false, GpuDev.Server.Identity.Tokens.Hash(token), [], CancellationToken.None);

        for (var i = 0; i < 12; i++)
        {
            await SendAsync(server, attacker, "gdt_guess");
        }

        Assert.Equal(StatusCodes.Status429TooManyRequests, await SendAsync(server, attacker, "gdt_guess"));
        Assert.Equal(StatusCodes.Status200OK, await SendAsync(server, user, token));
        Assert.Equal(StatusCodes.Status401Unauthorized, await SendAsync(server, user, "gdt_guess"));
    }

    [Fact]
    public async Task FifteenBadTokensFromLoopback_AGoodTokenFromTheSameAddressStillWorks_AndThrottlingIsAuditedOnce()
    {
        await using var server = new ServerFixture(s_settings);
        _ = server.CreateClient();
        var loopback = IPAddress.Loopback;
        var token = GpuDev.Server.Identity.Tokens.Generate();
        await server.Store.AddUserAsync("carol", null, false, GpuDev.Server.Identity.Tokens.Hash(token), [], CancellationToken.None);

        var bad = new List<int>();
        for (var i = 0; i < 15; i++)
        {
            bad.Add(await SendAsync(server, loopback, "gdt_guess_" + i));
        }

        var good = await SendAsync(server, loopback, token);

        var audit = await server.AuditAsync(new GpuDev.Core.Audit.AuditQuery(Actor: "anonymous"),
            entries => entries.Count(e => e.Outcome == StatusCodes.Status401Unauthorized) >= 10 && entries.Any(e => e.Outcome == StatusCodes.Status429TooManyRequests));

        Assert.Equal(10, bad.Count(s => s == StatusCodes.Status401Unauthorized));
        Assert.Equal(5, bad.Count(s => s == StatusCodes.Status429TooManyRequests));
        Assert.Equal(StatusCodes.Status200OK, good);
        Assert.Equal(10, audit.Count(e => e.Outcome == StatusCodes.Status401Unauthorized));
        Assert.Equal(1, audit.Count(e => e.Outcome == StatusCodes.Status429TooManyRequests));
    }

    [Fact]
    public async Task ForwardedFor_BelievedOnlyFromTrustedProxies()
    {
        await using var server = new ServerFixture(new Dictionary<string, string>(s_settings) { ["Server:TrustedProxies:0"] = "192.0.2.0/24" });
        _ = server.CreateClient();

        await SendAsync(server, IPAddress.Parse("192.0.2.1"), "gdt_guess", forwardedFor: "203.0.113.9");
        await SendAsync(server, IPAddress.Parse("198.51.100.2"), "gdt_guess", forwardedFor: "203.0.113.10");
        var audit = await server.Services.GetRequiredService<GpuDev.Core.Audit.IAuditLog>().QueryAsync(new GpuDev.Core.Audit.AuditQuery(Actor: "anonymous"), CancellationToken.None);

        Assert.Equal(["198.51.100.2", "203.0.113.9"], audit.Select(e => e.RemoteAddress).Order(StringComparer.Ordinal));
    }

    private static async Task<int> SendAsync(ServerFixture server, IPAddress from, string token, string? forwardedFor = null)
    {
        var context = await server.Server.SendAsync(c =>
        {
            c.Connection.RemoteIpAddress = from;
            c.Request.Method = "GET";
            c.Request.Path = Routes.Me;
            c.Request.Headers.Authorization = "Bearer " + token;
            if (forwardedFor is not null)
            {
                c.Request.Headers["X-Forwarded-For"] = forwardedFor;
            }
        });
        return context.Response.StatusCode;
    }
}
