using System.Net;
using System.Text.Json;
using GpuDev.Cli.Config;
using GpuDev.Contracts;

namespace GpuDev.Cli.Tests.Commands;

public sealed class LogoutCommandTests
{
    private const string Logout = "/api/v1/me/logout";

    private static CliHarness WithSavedToken()
    {
        var cli = new CliHarness(withToken: false);
        var store = new ConfigStore(cli.Environment);
        store.Set(ConfigStore.TokenKey, "gdt_saved");
        store.Set(ConfigStore.GithubUserKey, "alice");
        return cli;
    }

    private static string Revoked() => JsonSerializer.Serialize(
        new TokenDto("3f2a9c1e00000000000000000000aaaa", "login devbox", "session", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, true),
        GpuDevJsonContext.Default.TokenDto);

    [Fact]
    public async Task Logout_RevokesAtTheServerThenRemovesTheSavedToken()
    {
        using var cli = WithSavedToken();
        cli.Http.On("POST", Logout, HttpStatusCode.OK, Revoked());

        Assert.Equal(0, await cli.RunAsync("logout"));

        var request = cli.Http.Requests.Single();
        Assert.Equal("POST", request.Method.Method);
        Assert.Equal("Bearer gdt_saved", request.Headers["Authorization"]);
        Assert.Equal("Revoked token 'login devbox' (3f2a9c1e) at the server", cli.Console.StdOut.Trim());
        var store = new ConfigStore(cli.Environment);
        Assert.Null(store.GetFromFile(ConfigStore.TokenKey));
        Assert.Equal("alice", store.GetFromFile(ConfigStore.GithubUserKey));
        Assert.Contains($"Removed the token from {store.FilePath}", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logout_TokenNoLongerAccepted_RemovedAllTheSame_Exit0()
    {
        using var cli = WithSavedToken();
        cli.Http.On("POST", Logout, HttpStatusCode.Unauthorized,
            """{"title":"Unauthorized","status":401,"code":"unauthorized","detail":"The token 'login devbox' expired at 2030-01-01 10:00 UTC; log in again with 'gpu-dev login' (or ask an admin for a new token)."}""");

        Assert.Equal(0, await cli.RunAsync("logout"));

        Assert.Contains("note: the server no longer accepts this token (The token 'login devbox' expired at 2030-01-01 10:00 UTC;", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Null(new ConfigStore(cli.Environment).GetFromFile(ConfigStore.TokenKey));
    }

    [Fact]
    public async Task Logout_ServerUnreachable_RemovedAllTheSame_SaysItStillWorks_Exit1()
    {
        using var cli = WithSavedToken();
        cli.Http.Throw = new HttpRequestException("Connection refused");

        Assert.Equal(1, await cli.RunAsync("logout"));

        Assert.Contains("warning: cannot reach the gpu-dev server at http://gpu-dev.test:8484: Connection refused: the token was not revoked there and works until it expires",
            cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Null(new ConfigStore(cli.Environment).GetFromFile(ConfigStore.TokenKey));
    }

    [Fact]
    public async Task Logout_ServerError_KeepsTheToken_Exit1()
    {
        using var cli = WithSavedToken();
        cli.Http.On("POST", Logout, HttpStatusCode.InternalServerError, """{"title":"Internal Server Error","status":500,"detail":"the store is down"}""");

        Assert.Equal(1, await cli.RunAsync("logout"));

        Assert.Equal("error: the store is down", cli.Console.StdErr.Trim());
        Assert.Equal("gdt_saved", new ConfigStore(cli.Environment).GetFromFile(ConfigStore.TokenKey));
    }

    [Fact]
    public async Task Logout_NotSignedIn_NothingToDo()
    {
        using var cli = new CliHarness(withToken: false);

        Assert.Equal(0, await cli.RunAsync("logout"));

        Assert.Equal("Not signed in: no token is configured; nothing to do.", cli.Console.StdErr.Trim());
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Logout_TokenFromTheEnvironment_RevokedAndTheUserToldToUnsetIt()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", Logout, HttpStatusCode.OK, Revoked());

        Assert.Equal(0, await cli.RunAsync("logout"));

        Assert.Equal($"Bearer {CliHarness.Token}", cli.Http.Requests.Single().Headers["Authorization"]);
        Assert.Contains("note: the token came from GPU_DEV_TOKEN; unset it in your shell", cli.Console.StdErr, StringComparison.Ordinal);
    }
}
