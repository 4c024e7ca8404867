using System.Net;

namespace GpuDev.Cli.Tests.Commands;

public sealed class CancelCommandTests
{
    private const string Id = "abcdef1234567890abcdef1234567890";

    [Fact]
    public async Task Execute_NoTtyWithoutYes_RefusedWithoutHttpCall()
    {
        using var cli = new CliHarness(tty: false);

        var exit = await cli.RunAsync("cancel", "abcdef12");

        Assert.Equal(1, exit);
        Assert.StartsWith("error: --yes is required", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Execute_NoTtyWithYes_Deletes()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("DELETE", "/api/v1/reservations/abcdef12", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("cancelled")));

        var exit = await cli.RunAsync("cancel", "abcdef12", "-y");

        Assert.Equal(0, exit);
        Assert.Contains("Cancelled reservation abcdef12", cli.Console.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_AlreadyEnded_ErrorExit1()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("DELETE", "/api/v1/reservations/abcdef12", HttpStatusCode.Conflict,
            """{"title":"Invalid transition","status":409,"code":"invalid-transition","detail":"reservation abcdef12 is already expired"}""");

        var exit = await cli.RunAsync("cancel", "abcdef12", "--yes");

        Assert.Equal(1, exit);
        Assert.Equal("error: reservation abcdef12 is already expired", cli.Console.StdErr.Trim());
    }

    [Fact]
    public async Task Execute_TtyDeclined_Exit2NothingDeleted()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", "/api/v1/reservations/abcdef12", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active")));
        cli.Console.Answers.Enqueue("n");

        var exit = await cli.RunAsync("cancel", "abcdef12");

        Assert.Equal(2, exit);
        Assert.Single(cli.Console.Questions);
        Assert.Empty(cli.Http.To("DELETE", "/"));
    }

    [Fact]
    public async Task Execute_TtyNoIdConfirmed_SelectsAndDeletes()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", "/api/v1/reservations", HttpStatusCode.OK, CliHarness.Json([CliHarness.Reservation("active")]));
        cli.Http.On("DELETE", $"/api/v1/reservations/{Id}", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("cancelled")));
        cli.Console.Answers.Enqueue("abcdef12");
        cli.Console.Answers.Enqueue("y");

        var exit = await cli.RunAsync("cancel");

        Assert.Equal(0, exit);
        Assert.Single(cli.Http.To("DELETE", "/"));
    }

    [Fact]
    public async Task Execute_NoTtyNoId_Error()
    {
        using var cli = new CliHarness(tty: false);

        var exit = await cli.RunAsync("cancel", "--yes");

        Assert.Equal(1, exit);
        Assert.StartsWith("error: a reservation ID is required", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_TtyCtrlCAtConfirmation_Exit2NothingDeleted()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", "/api/v1/reservations/abcdef12", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active")));
        cli.Http.On("DELETE", $"/api/v1/reservations/{Id}", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("cancelled")));
        cli.Console.Answers.Enqueue(TestConsole.CtrlC);
        cli.Console.Answers.Enqueue("y");

        var exit = await cli.RunAsync("cancel", "abcdef12");

        Assert.Equal(2, exit);
        Assert.Equal("cancelled; nothing was changed\n", cli.Console.StdErr);
        Assert.Single(cli.Console.Questions);
        Assert.Empty(cli.Http.To("DELETE", "/"));
    }

    [Fact]
    public async Task Execute_TtyEscAtConfirmation_AnswersNo()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", "/api/v1/reservations/abcdef12", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active")));
        cli.Console.Answers.Enqueue(TestConsole.Esc);

        var exit = await cli.RunAsync("cancel", "abcdef12");

        Assert.Equal(2, exit);
        Assert.Equal("Nothing cancelled.\n", cli.Console.StdErr);
        Assert.Empty(cli.Http.To("DELETE", "/"));
    }

    [Fact]
    public async Task Execute_TtyEscAtPicker_Exit2NothingDeleted()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", "/api/v1/reservations", HttpStatusCode.OK,
            CliHarness.Json([CliHarness.Reservation("active"), CliHarness.Reservation("active", "11111111111111111111111111111111")]));
        cli.Console.Answers.Enqueue(TestConsole.Esc);
        cli.Console.Answers.Enqueue("y");

        var exit = await cli.RunAsync("cancel");

        Assert.Equal(2, exit);
        Assert.Equal("cancelled; nothing was changed\n", cli.Console.StdErr);
        Assert.Empty(cli.Http.To("DELETE", "/"));
    }
}
