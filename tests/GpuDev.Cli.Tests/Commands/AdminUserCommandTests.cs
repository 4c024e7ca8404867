using System.Net;
using System.Text.Json;
using GpuDev.Contracts;

namespace GpuDev.Cli.Tests.Commands;

public sealed class AdminUserCommandTests
{
    private const string Users = "/api/v1/admin/users/";

    private static readonly DateTimeOffset Now = new(2030, 1, 2, 10, 0, 0, TimeSpan.Zero);

    private static UserDto User(string name, bool admin = false, string? github = null, DateTimeOffset? disabled = null) =>
        new(name, github, admin, Now.AddDays(-10), disabled);

    private static string Json(UserDto u) => JsonSerializer.Serialize(u, GpuDevJsonContext.Default.UserDto);

    private static string Change(UserDto u, params ReservationDto[] live) =>
        JsonSerializer.Serialize(new UserChangeDto(u, [.. live]), GpuDevJsonContext.Default.UserChangeDto);

    [Fact]
    public async Task List_Tty_NameAdminGithubCreatedStatus()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", Users, HttpStatusCode.OK, JsonSerializer.Serialize(
            new List<UserDto> { User("alice", github: "alice-gh"), User("bob", admin: true), User("mallory", disabled: Now.AddHours(-3)) },
            GpuDevJsonContext.Default.ListUserDto));

        Assert.Equal(0, await cli.RunAsync("admin", "user", "list"));

        var lines = cli.Console.StdOut.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).ToList();
        Assert.Matches(@"^NAME\s+ADMIN\s+GITHUB\s+CREATED\s+STATUS$", lines[0]);
        Assert.Matches(@"^alice\s+-\s+alice-gh\s+Sun 23 Dec 2029 10:00 UTC \(10d ago\)\s+active$", lines[1]);
        Assert.Matches(@"^bob\s+admin\s+-\s+.*active$", lines[2]);
        Assert.Matches(@"^mallory\s+-\s+-\s+.*disabled 3h ago$", lines[3]);
        Assert.Equal("GET " + Users, $"{cli.Http.Requests.Single().Method} {cli.Http.Requests.Single().PathAndQuery}");
    }

    [Fact]
    public async Task List_PipedAndJson()
    {
        var users = JsonSerializer.Serialize(new List<UserDto> { User("bob", admin: true, github: "bobgh") }, GpuDevJsonContext.Default.ListUserDto);
        using var piped = new CliHarness();
        piped.Http.On("GET", Users, HttpStatusCode.OK, users);
        using var json = new CliHarness();
        json.Http.On("GET", Users, HttpStatusCode.OK, users);

        Assert.Equal(0, await piped.RunAsync("admin", "user", "list"));
        Assert.Equal(0, await json.RunAsync("admin", "user", "list", "--json"));

        Assert.Equal("bob\tadmin\tbobgh\t2029-12-23T10:00:00Z\tactive\t\n", piped.Console.StdOut.Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.True(JsonDocument.Parse(json.Console.StdOut).RootElement[0].GetProperty("admin").GetBoolean());
    }

    [Fact]
    public async Task List_NotAdmin_Exit4WithTheServersLine()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", Users, HttpStatusCode.Forbidden, """{"title":"Forbidden","status":403,"code":"forbidden","detail":"Only admins can manage users."}""");

        Assert.Equal(4, await cli.RunAsync("admin", "user", "list"));

        Assert.Equal("error: Only admins can manage users.", cli.Console.StdErr.Trim());
    }

    [Fact]
    public async Task Add_PostsNameAdminGithub_PrintsTheTokenOnce()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", Users, HttpStatusCode.Created, JsonSerializer.Serialize(
            new CreatedUserDto(User("carol", admin: true, github: "carol-gh"), "gdt_new", Now.AddDays(365)), GpuDevJsonContext.Default.CreatedUserDto));

        Assert.Equal(0, await cli.RunAsync("admin", "user", "add", "carol", "--admin", "--github", "@carol-gh"));

        var request = cli.Http.Requests.Single();
        Assert.Equal("POST", request.Method.Method);
        Assert.Equal("""{"name":"carol","admin":true,"githubUser":"carol-gh"}""", request.Body);
        Assert.Equal("gdt_new\n", cli.Console.StdOut.Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.Contains("Added user carol (admin). Their token above expires Thu 2 Jan 2031 10:00 UTC (in 365d)", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Contains("shown only this once", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Add_Json_UserTokenExpiry()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", Users, HttpStatusCode.Created, JsonSerializer.Serialize(
            new CreatedUserDto(User("dave"), "gdt_new", Now.AddDays(365)), GpuDevJsonContext.Default.CreatedUserDto));

        Assert.Equal(0, await cli.RunAsync("admin", "user", "add", "dave", "--json"));

        Assert.Equal("""{"name":"dave","admin":false,"githubUser":null}""", cli.Http.Requests.Single().Body);
        using var doc = JsonDocument.Parse(cli.Console.StdOut);
        Assert.Equal("gdt_new", doc.RootElement.GetProperty("token").GetString());
        Assert.Equal("dave", doc.RootElement.GetProperty("user").GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("Alice")]
    [InlineData("-x")]
    [InlineData("a b")]
    [InlineData("abcdefghijabcdefghijabcdefghijabc")]
    public async Task Add_BadName_RefusedWithTheRuleBeforeAnyRequest(string name)
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("admin", "user", "add", "--", name);

        Assert.Equal(1, exit);
        Assert.Equal($"error: a user name is 1-32 lowercase letters, digits, '-' and '_', starting with a letter or digit; got \"{name}\"", cli.Console.StdErr.Trim());
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Add_BadGithub_RefusedBeforeAnyRequest()
    {
        using var cli = new CliHarness();

        Assert.Equal(1, await cli.RunAsync("admin", "user", "add", "erin", "--github", "not a login"));

        Assert.StartsWith("error: --github must be a GitHub login", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Add_Exists_ConflictLine()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", Users, HttpStatusCode.Conflict, """{"title":"Conflict","status":409,"code":"conflict","detail":"A user named 'alice' exists already."}""");

        Assert.Equal(1, await cli.RunAsync("admin", "user", "add", "alice"));

        Assert.Equal("error: A user named 'alice' exists already.", cli.Console.StdErr.Trim());
    }

    [Fact]
    public async Task Disable_ListsTheLiveReservationsThatKeepRunning_AndHowToCancel()
    {
        using var cli = new CliHarness(tty: true);
        var live = CliHarness.Reservation("active", configure: b => b.User = "mallory");
        cli.Http.On("POST", "/api/v1/admin/users/mallory/disable", HttpStatusCode.OK, Change(User("mallory", disabled: Now), live));

        Assert.Equal(0, await cli.RunAsync("admin", "user", "disable", "mallory"));

        Assert.Equal("POST", cli.Http.Requests.Single().Method.Method);
        Assert.StartsWith("Disabled user mallory: their tokens no longer work.", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Contains("abcdef12", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Contains("mallory", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Contains("Their live reservation keeps running:", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Contains("Cancel one with `gpu-dev cancel ID` (e.g. `gpu-dev cancel abcdef12`)", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disable_NoReservations_Json()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", "/api/v1/admin/users/mallory/disable", HttpStatusCode.OK, Change(User("mallory", disabled: Now)));
        using var plain = new CliHarness();
        plain.Http.On("POST", "/api/v1/admin/users/mallory/disable", HttpStatusCode.OK, Change(User("mallory", disabled: Now)));

        Assert.Equal(0, await cli.RunAsync("admin", "user", "disable", "mallory", "--json"));
        Assert.Equal(0, await plain.RunAsync("admin", "user", "disable", "mallory"));

        using var doc = JsonDocument.Parse(cli.Console.StdOut);
        Assert.Equal(0, doc.RootElement.GetProperty("liveReservations").GetArrayLength());
        Assert.Contains("They have no live reservations.", plain.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disable_Yourself_ConflictLine()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", "/api/v1/admin/users/root/disable", HttpStatusCode.Conflict,
            """{"title":"Conflict","status":409,"code":"conflict","detail":"You cannot disable your own account (another admin can)."}""");

        Assert.Equal(1, await cli.RunAsync("admin", "user", "disable", "root"));

        Assert.Equal("error: You cannot disable your own account (another admin can).", cli.Console.StdErr.Trim());
    }

    [Fact]
    public async Task Enable_PostsEnable()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", "/api/v1/admin/users/mallory/enable", HttpStatusCode.OK, Change(User("mallory")));

        Assert.Equal(0, await cli.RunAsync("admin", "user", "enable", "mallory"));

        Assert.Equal("Enabled user mallory.", cli.Console.StdOut.Trim());
    }

    [Fact]
    public async Task Enable_Unknown_NotFoundWithTheListHint()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", "/api/v1/admin/users/nobody/enable", HttpStatusCode.NotFound,
            """{"title":"Not Found","status":404,"code":"not-found","detail":"There is no user named 'nobody'."}""");

        Assert.Equal(1, await cli.RunAsync("admin", "user", "enable", "nobody"));

        Assert.Equal("error: There is no user named 'nobody'.\nhint: see the users with `gpu-dev admin user list`", cli.Console.StdErr.Trim().Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("true", true, "bob is now an admin.")]
    [InlineData("false", false, "bob is no longer an admin.")]
    public async Task SetAdmin_PutsTheFlag(string value, bool admin, string expected)
    {
        using var cli = new CliHarness();
        cli.Http.On("PUT", "/api/v1/admin/users/bob/admin", HttpStatusCode.OK, Json(User("bob", admin)));

        Assert.Equal(0, await cli.RunAsync("admin", "user", "set-admin", "bob", value));

        var request = cli.Http.Requests.Single();
        Assert.Equal("PUT", request.Method.Method);
        Assert.Equal($$"""{"admin":{{(admin ? "true" : "false")}}}""", request.Body);
        Assert.Equal(expected, cli.Console.StdOut.Trim());
    }

    [Fact]
    public async Task SetAdmin_Json()
    {
        using var cli = new CliHarness();
        cli.Http.On("PUT", "/api/v1/admin/users/bob/admin", HttpStatusCode.OK, Json(User("bob", admin: true)));

        Assert.Equal(0, await cli.RunAsync("admin", "user", "set-admin", "bob", "true", "--json"));

        Assert.True(JsonDocument.Parse(cli.Console.StdOut).RootElement.GetProperty("admin").GetBoolean());
    }

    [Theory]
    [InlineData("yes")]
    [InlineData("1")]
    public async Task SetAdmin_NotTrueOrFalse_RefusedBeforeAnyRequest(string value)
    {
        using var cli = new CliHarness();

        Assert.Equal(1, await cli.RunAsync("admin", "user", "set-admin", "bob", value));

        Assert.Equal($"error: ADMIN must be true or false; got \"{value}\"", cli.Console.StdErr.Trim());
        Assert.Empty(cli.Http.Requests);
    }
}
