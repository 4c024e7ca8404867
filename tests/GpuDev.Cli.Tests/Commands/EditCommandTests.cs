using System.Net;
using System.Text.Json;
using GpuDev.Cli.Commands;
using GpuDev.Contracts;

namespace GpuDev.Cli.Tests.Commands;

public sealed class EditCommandTests
{
    private const string Id = "abcdef1234567890abcdef1234567890";
    private const string Path = "/api/v1/reservations";

    private static JsonElement Body(CliHarness cli)
    {
        using var doc = JsonDocument.Parse(Assert.Single(cli.Http.To("PATCH", Path)).Body!);
        return doc.RootElement.Clone();
    }

    [Fact]
    public async Task Execute_ExtendWithoutValue_Sends24AndPrintsNewEnd()
    {
        using var cli = new CliHarness();
        var extended = CliHarness.Reservation("active", configure: b => b.ExtendedHours = 24);
        cli.Http.On("PATCH", $"{Path}/abcdef12", HttpStatusCode.OK, CliHarness.Json(extended));

        var exit = await cli.RunAsync("edit", "abcdef12", "--extend");

        Assert.Equal(0, exit);
        var body = Body(cli);
        Assert.Equal(24, body.GetProperty("extendHours").GetDouble());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("jupyter").ValueKind);
        Assert.Equal(JsonValueKind.Null, body.GetProperty("addUsers").ValueKind);
        Assert.Equal("Extended reservation abcdef12 by 24h; it now expires 2030-01-02T13:05:00Z (in 3h 5m).\n", cli.Console.StdOut);
    }

    [Fact]
    public async Task Execute_ExtendDecimalBeforeId_SendsHours()
    {
        using var cli = new CliHarness();
        cli.Http.On("PATCH", $"{Path}/abcdef12", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active")));

        var exit = await cli.RunAsync("edit", "--extend", "2.5", "abcdef12");

        Assert.Equal(0, exit);
        Assert.Equal(2.5, Body(cli).GetProperty("extendHours").GetDouble());
    }

    [Fact]
    public async Task Execute_ExtendFollowedById_IdNotTakenAsHours()
    {
        using var cli = new CliHarness();
        cli.Http.On("PATCH", $"{Path}/abcdef12", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active")));

        var exit = await cli.RunAsync("edit", "--extend", "abcdef12");

        Assert.Equal(0, exit);
        Assert.Equal(24, Body(cli).GetProperty("extendHours").GetDouble());
    }

    [Theory]
    [InlineData("0")]
    [InlineData("24.5")]
    [InlineData("-1")]
    [InlineData("NaN")]
    [InlineData("soon")]
    public async Task Execute_ExtendOutOfRange_OneLineErrorNoHttp(string hours)
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("edit", "abcdef12", $"--extend={hours}");

        Assert.Equal(1, exit);
        Assert.Equal($"error: --extend HOURS must be a number greater than 0 and at most 24; got \"{hours}\"", cli.Console.StdErr.Trim());
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Execute_EnableJupyter_PrintsUrl()
    {
        using var cli = new CliHarness();
        cli.Http.On("PATCH", $"{Path}/abcdef12", HttpStatusCode.OK,
            CliHarness.Json(CliHarness.Reservation("active", configure: b => b.JupyterUrl = "http://10.0.0.5:30002/lab?token=t0k")));

        var exit = await cli.RunAsync("edit", "abcdef12", "--enable-jupyter");

        Assert.Equal(0, exit);
        Assert.True(Body(cli).GetProperty("jupyter").GetBoolean());
        Assert.Equal("Jupyter is enabled on abcdef12: http://10.0.0.5:30002/lab?token=t0k\n", cli.Console.StdOut);
    }

    [Fact]
    public async Task Execute_DisableJupyter_SendsFalse()
    {
        using var cli = new CliHarness();
        cli.Http.On("PATCH", $"{Path}/abcdef12", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active")));

        var exit = await cli.RunAsync("edit", "abcdef12", "--disable-jupyter");

        Assert.Equal(0, exit);
        Assert.False(Body(cli).GetProperty("jupyter").GetBoolean());
        Assert.Contains("Jupyter Lab is disabled on abcdef12.", cli.Console.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_BothJupyterFlags_ErrorNoHttp()
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("edit", "abcdef12", "--enable-jupyter", "--disable-jupyter");

        Assert.Equal(1, exit);
        Assert.Equal("error: give either --enable-jupyter or --disable-jupyter, not both", cli.Console.StdErr.Trim());
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Execute_AddUserRepeatable_SendsAllAndPrintsThem()
    {
        using var cli = new CliHarness();
        cli.Http.On("PATCH", $"{Path}/abcdef12", HttpStatusCode.OK,
            CliHarness.Json(CliHarness.Reservation("active", configure: b => b.AddedUsers = ["bob", "carol-c"])));

        var exit = await cli.RunAsync("edit", "abcdef12", "--add-user", "bob", "--add-user", "carol-c");

        Assert.Equal(0, exit);
        Assert.Equal(["bob", "carol-c"], Body(cli).GetProperty("addUsers").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.StartsWith("Added bob, carol-c to abcdef12;", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Contains("Added users now: bob, carol-c.", cli.Console.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_AddUserNotALogin_OneLineError()
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("edit", "abcdef12", "--add-user", "bob smith");

        Assert.Equal(1, exit);
        Assert.StartsWith("error: --add-user must be a GitHub login", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Execute_NoActionNonTty_ErrorNamesFlagsNoHttp()
    {
        using var cli = new CliHarness(tty: false);

        var exit = await cli.RunAsync("edit", "abcdef12");

        Assert.Equal(1, exit);
        Assert.StartsWith("error: give an action: --extend, --enable-jupyter, --disable-jupyter or --add-user\n", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Execute_NoActionOnTtyWithCiSet_DoesNotPrompt()
    {
        using var cli = new CliHarness(tty: true);
        cli.Environment.Variables[EnvVars.Ci] = "true";

        var exit = await cli.RunAsync("edit", "abcdef12");

        Assert.Equal(1, exit);
        Assert.Empty(cli.Console.Questions);
    }

    [Fact]
    public async Task Execute_NoIdSingleActive_EditsIt()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", Path, HttpStatusCode.OK,
            CliHarness.Json([CliHarness.Reservation("queued", "11111111111111111111111111111111"), CliHarness.Reservation("active")]));
        cli.Http.On("PATCH", $"{Path}/{Id}", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active")));

        var exit = await cli.RunAsync("edit", "--extend", "1");

        Assert.Equal(0, exit);
        Assert.Single(cli.Http.To("PATCH", $"{Path}/{Id}"));
    }

    [Fact]
    public async Task Execute_NoIdSeveralActiveNonTty_ErrorListsIds()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", Path, HttpStatusCode.OK,
            CliHarness.Json([CliHarness.Reservation("active", "11111111111111111111111111111111"), CliHarness.Reservation("active")]));

        var exit = await cli.RunAsync("edit", "--enable-jupyter");

        Assert.Equal(1, exit);
        Assert.StartsWith("error: you have 2 active reservations; name one: 11111111, abcdef12", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Http.To("PATCH", Path));
    }

    [Fact]
    public async Task Execute_NoIdOnlyAddedUserOf_ErrorNothingToEdit()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", Path, HttpStatusCode.OK, CliHarness.Json([CliHarness.Reservation("active", configure: b => b.CanEdit = false)]));

        var exit = await cli.RunAsync("edit", "--extend");

        Assert.Equal(1, exit);
        Assert.StartsWith("error: you have no active reservation to edit", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_TtyNoIdNoAction_PicksReservationThenActionThenUser()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", Path, HttpStatusCode.OK,
            CliHarness.Json([CliHarness.Reservation("active", "11111111111111111111111111111111"), CliHarness.Reservation("active")]));
        cli.Http.On("PATCH", $"{Path}/{Id}", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active", configure: b => b.AddedUsers = ["dave"])));
        foreach (var answer in new[] { "abcdef12", EditCommand.ActionAddUser, "not a login", "dave" })
        {
            cli.Console.Answers.Enqueue(answer);
        }

        var exit = await cli.RunAsync("edit");

        Assert.Equal(0, exit);
        Assert.Equal(["Edit which reservation?", "What do you want to change?", "GitHub login of the user to add?", "GitHub login of the user to add?"], cli.Console.Questions);
        Assert.Equal(["dave"], Body(cli).GetProperty("addUsers").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.Contains("\"not a login\" is not a GitHub login", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_TtyNoActionExtend_AsksHoursDefault24()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", $"{Path}/abcdef12", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active")));
        cli.Http.On("PATCH", $"{Path}/abcdef12", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active")));
        cli.Console.Answers.Enqueue(EditCommand.ActionExtend);
        cli.Console.Answers.Enqueue(string.Empty);

        var exit = await cli.RunAsync("edit", "abcdef12");

        Assert.Equal(0, exit);
        Assert.Equal(24, Body(cli).GetProperty("extendHours").GetDouble());
        var expires = new DateTimeOffset(2030, 1, 2, 13, 5, 0, TimeSpan.Zero);
        Assert.Contains($"it now expires {Output.Format.LocalTime(expires, cli.Now)} (in 3h 5m)", cli.Console.StdOut, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(HttpStatusCode.Conflict, "conflict", "reservation abcdef12 was already extended once")]
    [InlineData(HttpStatusCode.Conflict, "conflict", "extending by 24 h would exceed 48 h in total")]
    [InlineData(HttpStatusCode.Conflict, "invalid-transition", "reservation abcdef12 is expired, not active")]
    [InlineData(HttpStatusCode.UnprocessableEntity, "not-supported", "Jupyter is not installed on this host")]
    [InlineData(HttpStatusCode.BadRequest, "validation", "extendHours must be greater than 0 and at most 24")]
    public async Task Execute_ServerRefuses_PrintsDetailExit1(HttpStatusCode status, string code, string detail)
    {
        using var cli = new CliHarness();
        cli.Http.On("PATCH", $"{Path}/abcdef12", status,
            $$"""{"title":"Refused","status":{{(int)status}},"code":"{{code}}","detail":"{{detail}}"}""");

        var exit = await cli.RunAsync("edit", "abcdef12", "--extend", "24");

        Assert.Equal(1, exit);
        Assert.Equal($"error: {detail}", cli.Console.StdErr.Trim());
        Assert.Empty(cli.Console.StdOut);
    }

    [Fact]
    public async Task Execute_ForbiddenForAddedUser_Exit4()
    {
        using var cli = new CliHarness();
        cli.Http.On("PATCH", $"{Path}/abcdef12", HttpStatusCode.Forbidden,
            """{"title":"Forbidden","status":403,"code":"forbidden","detail":"only the owner can edit reservation abcdef12"}""");

        var exit = await cli.RunAsync("edit", "abcdef12", "--enable-jupyter");

        Assert.Equal(4, exit);
        Assert.Equal("error: only the owner can edit reservation abcdef12", cli.Console.StdErr.Trim());
    }

    [Fact]
    public async Task Execute_Json_PrintsReservationDto()
    {
        using var cli = new CliHarness();
        cli.Http.On("PATCH", $"{Path}/abcdef12", HttpStatusCode.OK,
            CliHarness.Json(CliHarness.Reservation("active", configure: b => { b.ExtendedHours = 2; b.AddedUsers = ["bob"]; })));

        var exit = await cli.RunAsync("edit", "abcdef12", "--extend", "2", "--json");

        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(cli.Console.StdOut);
        Assert.Equal(Id, doc.RootElement.GetProperty("id").GetString());
        Assert.Equal(2, doc.RootElement.GetProperty("extendedHours").GetDouble());
        Assert.Equal("bob", doc.RootElement.GetProperty("addedUsers")[0].GetString());
        Assert.True(doc.RootElement.GetProperty("canEdit").GetBoolean());
    }

    [Fact]
    public void BodyShape_EditRequest_CamelCaseFields()
    {
        var json = JsonSerializer.Serialize(new EditReservationRequest { ExtendHours = 1, Jupyter = true, AddUsers = ["a"] }, GpuDevJsonContext.Default.EditReservationRequest);

        Assert.Equal("""{"extendHours":1,"jupyter":true,"addUsers":["a"]}""", json);
    }

    [Fact]
    public async Task Execute_TtyNoAction_MenuOffersOnlyWhatTheReservationAllows()
    {
        // Extended once already, Jupyter on: neither "extend" nor "enable Jupyter" would be accepted.
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", $"{Path}/abcdef12", HttpStatusCode.OK,
            CliHarness.Json(CliHarness.Reservation("active", configure: b => { b.ExtendedHours = 4; b.Jupyter = true; })));
        cli.Http.On("PATCH", $"{Path}/abcdef12", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active")));
        IReadOnlyList<string>? actions = null;
        cli.Console.OnSelect = c => actions = c;
        cli.Console.Answers.Enqueue(EditCommand.ActionDisableJupyter);

        var exit = await cli.RunAsync("edit", "abcdef12");

        Assert.Equal(0, exit);
        Assert.Equal([EditCommand.ActionDisableJupyter, EditCommand.ActionAddUser], actions);
        Assert.Contains("Reservation abcdef12 was already extended (by 4h); a reservation can be extended once.", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.False(Body(cli).GetProperty("jupyter").GetBoolean());
    }

    [Fact]
    public async Task Execute_TtyNoAction_FreshReservationOffersExtendAndEnableJupyter()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", Path, HttpStatusCode.OK, CliHarness.Json([CliHarness.Reservation("active")]));
        cli.Http.On("PATCH", $"{Path}/{Id}", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active", configure: b => b.Jupyter = true)));
        IReadOnlyList<string>? actions = null;
        cli.Console.OnSelect = c => actions = c;
        cli.Console.Answers.Enqueue(EditCommand.ActionEnableJupyter);

        var exit = await cli.RunAsync("edit");

        Assert.Equal(0, exit);
        Assert.Equal([EditCommand.ActionExtend, EditCommand.ActionEnableJupyter, EditCommand.ActionAddUser], actions);
        Assert.True(Body(cli).GetProperty("jupyter").GetBoolean());
    }

    [Fact]
    public async Task Execute_TtyExtend_AsksAtMostWhatKeeps48HoursInAll()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", $"{Path}/abcdef12", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active", configure: b => b.Hours = 44.5)));
        cli.Http.On("PATCH", $"{Path}/abcdef12", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active")));
        foreach (var answer in new[] { EditCommand.ActionExtend, "4", string.Empty })
        {
            cli.Console.Answers.Enqueue(answer);
        }

        var exit = await cli.RunAsync("edit", "abcdef12");

        Assert.Equal(0, exit);
        Assert.Equal("Add how many hours (up to 3.5, decimals allowed)?", cli.Console.Questions[1]);
        Assert.Contains("a reservation lasts at most 48h in all; add at most 3.5h", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Equal(3.5, Body(cli).GetProperty("extendHours").GetDouble());
    }

    [Fact]
    public async Task Execute_TtyAt48Hours_NoExtendInMenu()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", $"{Path}/abcdef12", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active", configure: b => b.Hours = 48)));
        IReadOnlyList<string>? actions = null;
        cli.Console.OnSelect = c => actions = c;
        cli.Console.Answers.Enqueue(TestConsole.Esc);

        var exit = await cli.RunAsync("edit", "abcdef12");

        Assert.Equal(2, exit);
        Assert.Equal([EditCommand.ActionEnableJupyter, EditCommand.ActionAddUser], actions);
        Assert.Contains("it cannot be extended", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Http.To("PATCH", Path));
    }

    [Fact]
    public async Task Execute_TtyNotActive_FailsBeforeAskingAnything()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", $"{Path}/abcdef12", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("expired")));

        var exit = await cli.RunAsync("edit", "abcdef12");

        Assert.Equal(1, exit);
        Assert.StartsWith("error: reservation abcdef12 is expired; only active reservations can be edited", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Console.Questions);
        Assert.Empty(cli.Http.To("PATCH", Path));
    }

    [Theory]
    [InlineData(TestConsole.CtrlC, 0)]
    [InlineData(TestConsole.Esc, 0)]
    [InlineData(TestConsole.CtrlC, 1)]
    [InlineData(TestConsole.Esc, 1)]
    public async Task Execute_TtyInterruptAtMenuOrHours_Exit2NoPatch(string key, int atPrompt)
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", $"{Path}/abcdef12", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active")));
        cli.Http.On("PATCH", $"{Path}/abcdef12", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active")));
        if (atPrompt == 1)
        {
            cli.Console.Answers.Enqueue(EditCommand.ActionExtend);
        }

        cli.Console.Answers.Enqueue(key);

        var exit = await cli.RunAsync("edit", "abcdef12");

        Assert.Equal(2, exit);
        Assert.Equal("cancelled; nothing was changed\n", cli.Console.StdErr);
        Assert.Equal(atPrompt + 1, cli.Console.Questions.Count);
        Assert.Empty(cli.Http.To("PATCH", Path));
    }
}
