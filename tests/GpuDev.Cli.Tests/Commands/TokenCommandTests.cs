using System.Net;
using System.Text.Json;
using GpuDev.Contracts;

namespace GpuDev.Cli.Tests.Commands;

public sealed class TokenCommandTests
{
    private const string Tokens = "/api/v1/tokens";
    private const string Current = "3f2a9c1e00000000000000000000aaaa";
    private const string Old = "77aa0b1200000000000000000000bbbb";
    private const string Gone = "c0ffee0000000000000000000000cccc";

    private static readonly DateTimeOffset Now = new(2030, 1, 2, 10, 0, 0, TimeSpan.Zero);

    internal static TokenDto Token(string id, string name, string kind = "api", DateTimeOffset? expires = null, DateTimeOffset? revoked = null, bool current = false) =>
        new(id, name, kind, Now.AddDays(-3), expires ?? Now.AddDays(27), revoked, current);

    private static string Json(List<TokenDto> t) => JsonSerializer.Serialize(t, GpuDevJsonContext.Default.ListTokenDto);

    private static string Json(TokenDto t) => JsonSerializer.Serialize(t, GpuDevJsonContext.Default.TokenDto);

    private static string Problem(int status, string code, string detail) =>
        JsonSerializer.Serialize(new ProblemDto { Title = "x", Status = status, Code = code, Detail = detail }, GpuDevJsonContext.Default.ProblemDto);

    private static List<TokenDto> ThreeTokens() =>
    [
        Token(Current, "login devbox", "session", current: true),
        Token(Old, "ci", expires: Now.AddHours(-1)),
        Token(Gone, "laptop", revoked: Now.AddHours(-2)),
    ];

    [Fact]
    public async Task List_Tty_TableWithStatusesTimesAndTheCurrentMarked()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", Tokens, HttpStatusCode.OK, Json(ThreeTokens()));

        var exit = await cli.RunAsync("token", "list");

        Assert.Equal(0, exit);
        var lines = cli.Console.StdOut.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).ToList();
        Assert.Matches(@"^\s+ID\s+NAME\s+KIND\s+CREATED\s+EXPIRES\s+STATUS$", lines[0]);
        Assert.Matches(@"^\* 3f2a9c1e\s+login devbox\s+session\s+Sun 30 Dec 2029 10:00 UTC \(3d ago\)\s+Tue 29 Jan 10:00 UTC \(in 27d\)\s+active$", lines[1]);
        Assert.Matches(@"^\s+77aa0b12\s+ci\s+api\s+.*09:00 UTC \(1h ago\)\s+expired$", lines[2]);
        Assert.Matches(@"^\s+c0ffee00\s+laptop\s+api\s+.*revoked 2h ago$", lines[3]);
        Assert.Contains("* the token this CLI uses", cli.Console.StdErr, StringComparison.Ordinal);
        var request = Assert.Single(cli.Http.Requests);
        Assert.Equal("GET", request.Method.Method);
        Assert.Equal($"Bearer {CliHarness.Token}", request.Headers["Authorization"]);
    }

    [Fact]
    public async Task List_Piped_TabSeparatedRawValues()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("GET", Tokens, HttpStatusCode.OK, Json(ThreeTokens()));

        Assert.Equal(0, await cli.RunAsync("token", "list"));

        var lines = cli.Console.StdOut.TrimEnd('\n').Split('\n');
        Assert.Equal($"{Current}\tlogin devbox\tsession\t2029-12-30T10:00:00Z\t2030-01-29T10:00:00Z\t\tactive\tcurrent", lines[0]);
        Assert.Equal($"{Gone}\tlaptop\tapi\t2029-12-30T10:00:00Z\t2030-01-29T10:00:00Z\t2030-01-02T08:00:00Z\trevoked\t", lines[2]);
    }

    [Fact]
    public async Task List_Json_TheServersRecords()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", Tokens, HttpStatusCode.OK, Json(ThreeTokens()));

        Assert.Equal(0, await cli.RunAsync("token", "list", "--json"));

        using var doc = JsonDocument.Parse(cli.Console.StdOut);
        Assert.Equal(3, doc.RootElement.GetArrayLength());
        Assert.True(doc.RootElement[0].GetProperty("current").GetBoolean());
        Assert.Equal("session", doc.RootElement[0].GetProperty("kind").GetString());
    }

    [Theory]
    [InlineData("30m", 0.5)]
    [InlineData("12h", 12)]
    [InlineData("7d", 168)]
    [InlineData("90d", 2160)]
    [InlineData("5m", 5.0 / 60)]
    [InlineData("365d", 8760)]
    public async Task Create_Ttl_SentAsHours(string ttl, double hours)
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", Tokens, HttpStatusCode.Created, Created("ci"));

        Assert.Equal(0, await cli.RunAsync("token", "create", "--name", "ci", "--ttl", ttl));

        using var body = JsonDocument.Parse(cli.Http.Requests.Single().Body!);
        Assert.Equal("ci", body.RootElement.GetProperty("name").GetString());
        Assert.Equal(hours, body.RootElement.GetProperty("ttlHours").GetDouble(), 6);
    }

    [Fact]
    public async Task Create_Defaults_NullNameAndTtl_SecretAloneOnStdoutWithTheOnceNote()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", Tokens, HttpStatusCode.Created, Created("token 2030-01-02 10:00"));

        Assert.Equal(0, await cli.RunAsync("token", "create"));

        var request = cli.Http.Requests.Single();
        Assert.Equal("POST", request.Method.Method);
        Assert.Equal("""{"name":null,"ttlHours":null}""", request.Body);
        Assert.Equal("gdt_secret\n", cli.Console.StdOut.Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.Contains("Created token 'token 2030-01-02 10:00' (3f2a9c1e), expires Tue 29 Jan 10:00 UTC (in 27d)", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Contains("shown only this once", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_Json_SecretAndRecord()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", Tokens, HttpStatusCode.Created, Created("ci"));

        Assert.Equal(0, await cli.RunAsync("token", "create", "-n", "ci", "--json"));

        using var doc = JsonDocument.Parse(cli.Console.StdOut);
        Assert.Equal("gdt_secret", doc.RootElement.GetProperty("token").GetString());
        Assert.Equal(Current, doc.RootElement.GetProperty("record").GetProperty("id").GetString());
    }

    [Theory]
    [InlineData("4m")]
    [InlineData("366d")]
    [InlineData("1y")]
    [InlineData("12")]
    [InlineData("1.5h")]
    [InlineData("-3d")]
    [InlineData("h")]
    public async Task Create_BadTtl_RefusedWithTheRuleBeforeAnyRequest(string ttl)
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("token", "create", "--ttl", ttl);

        Assert.Equal(1, exit);
        Assert.Equal($"error: --ttl must be a whole number with m, h or d (30m, 12h, 7d, 90d), from 5m to 365d; got \"{ttl}\"", cli.Console.StdErr.Trim());
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Create_BadName_RefusedBeforeAnyRequest()
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("token", "create", "--name", new string('x', 65));

        Assert.Equal(1, exit);
        Assert.Equal("error: --name must be 1-64 printable characters; got 65 characters", cli.Console.StdErr.Trim());
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Create_ServerRefuses_OneLine()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", Tokens, HttpStatusCode.BadRequest, Problem(400, "validation", "A token name is 1-64 printable characters; got 0 characters."));

        var exit = await cli.RunAsync("token", "create");

        Assert.Equal(1, exit);
        Assert.Equal("error: A token name is 1-64 printable characters; got 0 characters.", cli.Console.StdErr.Trim());
    }

    [Fact]
    public async Task Revoke_Prefix_DeleteAndConfirmation()
    {
        using var cli = new CliHarness();
        cli.Http.On("DELETE", $"{Tokens}/77aa", HttpStatusCode.OK, Json(Token(Old, "ci", revoked: Now)));

        Assert.Equal(0, await cli.RunAsync("token", "revoke", "77aa"));

        Assert.Equal("DELETE", cli.Http.Requests.Single().Method.Method);
        Assert.Equal("Revoked token 'ci' (77aa0b12)", cli.Console.StdOut.Trim());
        Assert.Empty(cli.Console.StdErr);
    }

    [Fact]
    public async Task Revoke_TheCurrentToken_SaysToSignInAgain()
    {
        using var cli = new CliHarness();
        cli.Http.On("DELETE", $"{Tokens}/3f2a9c1e", HttpStatusCode.OK, Json(Token(Current, "login devbox", "session", revoked: Now, current: true)));

        Assert.Equal(0, await cli.RunAsync("token", "revoke", "3f2a9c1e"));

        Assert.Contains("That was the token this CLI uses: sign in again with `gpu-dev login`", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("3f2a/../x")]
    public async Task Revoke_ShortOrOddId_RefusedBeforeAnyRequest(string id)
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("token", "revoke", id);

        Assert.Equal(1, exit);
        Assert.StartsWith("error: TOKEN_ID must be at least 4 letters or digits", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Revoke_NotFound_ServersLineAndTheListHint()
    {
        using var cli = new CliHarness();
        cli.Http.On("DELETE", $"{Tokens}/dead", HttpStatusCode.NotFound,
            Problem(404, "not-found", "No token of yours has an id starting 'dead' (give at least 4 characters; 'gpu-dev token list' shows them)."));

        var exit = await cli.RunAsync("token", "revoke", "dead");

        Assert.Equal(1, exit);
        Assert.Equal(
            "error: No token of yours has an id starting 'dead' (give at least 4 characters; 'gpu-dev token list' shows them).\nhint: see your tokens with `gpu-dev token list`",
            cli.Console.StdErr.Trim().Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnyCommand_Expired401_ShowsTheServersReasonWithoutASecondHint()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", Tokens, HttpStatusCode.Unauthorized,
            Problem(401, "unauthorized", "The token 'x' expired at 2030-01-01 10:00 UTC; log in again with 'gpu-dev login' (or ask an admin for a new token)."));

        var exit = await cli.RunAsync("token", "list");

        Assert.Equal(4, exit);
        Assert.Equal("error: The token 'x' expired at 2030-01-01 10:00 UTC; log in again with 'gpu-dev login' (or ask an admin for a new token).", cli.Console.StdErr.Trim());
    }

    private static string Created(string name) =>
        JsonSerializer.Serialize(new CreatedTokenDto("gdt_secret", Token(Current, name)), GpuDevJsonContext.Default.CreatedTokenDto);
}
