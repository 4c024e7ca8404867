using System.Net;
using System.Text.Json;
using GpuDev.Cli.Output;
using GpuDev.Contracts;

namespace GpuDev.Cli.Tests.Commands;

public sealed class ShowCommandTests
{
    [Fact]
    public async Task Execute_Json_HasStableFieldNames()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", "/api/v1/reservations/abcdef12", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active", configure: b => b.HostKey = "ssh-ed25519 AAAA")));

        var exit = await cli.RunAsync("show", "abcdef12", "--json");

        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(cli.Console.StdOut);
        var root = doc.RootElement;
        Assert.Equal(JsonValueKind.Object, root.ValueKind);
        foreach (var field in new[] { "id", "createdAt", "status", "gpuType", "gpuCount", "ssh", "expiresAt", "queuePosition", "estimatedStartAt", "waitReason", "history" })
        {
            Assert.True(root.TryGetProperty(field, out _), $"missing {field}");
        }

        foreach (var field in new[] { "host", "port", "user", "command" })
        {
            Assert.True(root.GetProperty("ssh").TryGetProperty(field, out _), $"missing ssh.{field}");
        }

        Assert.Equal("abcdef1234567890abcdef1234567890", root.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Execute_IdPrefix_PassedThroughToServer()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", "/api/v1/reservations/abcd", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("queued", configure: b => { b.QueuePosition = 3; b.WaitReason = "no free h100"; })));

        var exit = await cli.RunAsync("show", "abcd");

        Assert.Equal(0, exit);
        Assert.Equal("/api/v1/reservations/abcd", Assert.Single(cli.Http.Requests).PathAndQuery);
        Assert.Contains("abcdef1234567890abcdef1234567890", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Contains("no free h100", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Contains("History:", cli.Console.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_AmbiguousPrefix_ErrorFromProblemDetails()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", "/api/v1/reservations/abcd", HttpStatusCode.Conflict,
            """{"title":"Ambiguous ID","status":409,"code":"ambiguous-id","detail":"abcd matches 2 reservations: abcd1111, abcd2222"}""");

        var exit = await cli.RunAsync("show", "abcd");

        Assert.Equal(1, exit);
        Assert.StartsWith("error: abcd matches 2 reservations: abcd1111, abcd2222\nhint:", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_NoIdNonePiped_JsonEmptyArray()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", "/api/v1/reservations", HttpStatusCode.OK, "[]");

        var exit = await cli.RunAsync("show", "--json");

        Assert.Equal(0, exit);
        Assert.Equal("[]", cli.Console.StdOut.Trim());
    }

    [Fact]
    public async Task Execute_NonTty_ShowsActiveDetailsWithRfc3339()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("GET", "/api/v1/reservations", HttpStatusCode.OK, CliHarness.Json([CliHarness.Reservation("active")]));

        var exit = await cli.RunAsync("show");

        Assert.Equal(0, exit);
        Assert.Contains("ssh -p 30001 dev@10.0.0.5", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Contains("2030-01-02T13:05:00Z", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Contains("node-a (GPUs 0,1)", cli.Console.StdOut, StringComparison.Ordinal);
    }

    private const string Why = "no node has 8 free h100; largest free block is 4 on local-2; 8 free at 10:35 when 3f2a1b9c ends";

    [Fact]
    public async Task Execute_QueuedOnTty_ShowsQueuePositionEtaAndReason()
    {
        using var cli = new CliHarness(tty: true);
        var eta = cli.Now.AddMinutes(35);
        cli.Http.On("GET", "/api/v1/reservations/abcd", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("queued", configure: b =>
        {
            b.GpuCount = 8;
            b.QueuePosition = 1;
            b.EstimatedStartAt = eta;
            b.WaitReason = Why;
        })));

        var exit = await cli.RunAsync("show", "abcd");

        Assert.Equal(0, exit);
        var output = cli.Console.StdOut;
        Assert.Contains("Queue:       #1 for h100\n", output, StringComparison.Ordinal);
        Assert.Contains($"Starts:      by {Format.LocalTime(eta, cli.Now)}, in 35m (guaranteed: sooner if anything ends early)\n", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Likely:", output, StringComparison.Ordinal);
        Assert.Contains($"Why:         {Why}\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_QueuedWithEarlierLikelyStart_ShowsBothStarts()
    {
        using var cli = new CliHarness(tty: true);
        var eta = cli.Now.AddHours(3);
        var likely = cli.Now.AddMinutes(80);
        cli.Http.On("GET", "/api/v1/reservations/abcd", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("queued", configure: b =>
        {
            b.QueuePosition = 1;
            b.EstimatedStartAt = eta;
            b.LikelyStartAt = likely;
        })));

        var exit = await cli.RunAsync("show", "abcd");

        Assert.Equal(0, exit);
        var output = cli.Console.StdOut;
        Assert.Contains($"Starts:      by {Format.LocalTime(eta, cli.Now)}, in 3h (guaranteed: sooner if anything ends early)\n", output, StringComparison.Ordinal);
        Assert.Contains($"Likely:      ~{Format.LocalTime(likely, cli.Now)}, in 1h 20m (from how reservations here usually end)\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_QueuedWithLikelyStartNonTty_BothInRfc3339()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("GET", "/api/v1/reservations/abcd", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("queued", configure: b =>
        {
            b.QueuePosition = 1;
            b.EstimatedStartAt = cli.Now.AddHours(3);
            b.LikelyStartAt = cli.Now.AddMinutes(80);
        })));

        var exit = await cli.RunAsync("show", "abcd");

        Assert.Equal(0, exit);
        Assert.Contains("Starts:      2030-01-02T13:00:00Z\n", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Contains("Likely:      2030-01-02T11:20:00Z\n", cli.Console.StdOut, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, "8 free at tomorrow 07:30 CET (in 20h 30m) when 3f2a1b9c ends", "by tomorrow 07:30 CET, in 20h 30m (guaranteed: sooner if anything ends early)")]
    [InlineData(true, "8 free at tomorrow 06:30 UTC (in 20h 30m) when 3f2a1b9c ends", "by tomorrow 06:30 UTC, in 20h 30m (guaranteed: sooner if anything ends early)")]
    public async Task Execute_QueuedUntilTomorrow_SaysTomorrowInTheUsersZone_OrUtc(bool utc, string why, string starts)
    {
        using var cli = new CliHarness(tty: true);
        cli.Time = new FixedTimeProvider(cli.Now, TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin"));
        var eta = cli.Now.AddHours(20.5);
        cli.Http.On("GET", "/api/v1/reservations/abcd", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("queued", configure: b =>
        {
            b.GpuCount = 8;
            b.QueuePosition = 1;
            b.EstimatedStartAt = eta;
            b.WaitReason = $"no node has 8 free h100; 8 free at {Format.Rfc3339(eta)} when 3f2a1b9c ends";
        })));

        var exit = await cli.RunAsync(utc ? ["show", "abcd", "--utc"] : ["show", "abcd"]);

        Assert.Equal(0, exit);
        Assert.Contains($"Starts:      {starts}\n", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Contains($"Why:         no node has 8 free h100; {why}\n", cli.Console.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_QueuedNonTty_EtaInRfc3339AndUnknownWhenMissing()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("GET", "/api/v1/reservations", HttpStatusCode.OK, CliHarness.Json(
        [
            CliHarness.Reservation("queued", configure: b => { b.QueuePosition = 1; b.EstimatedStartAt = cli.Now.AddMinutes(35); }),
            CliHarness.Reservation("queued", "0123456789abcdef0123456789abcdef", b => { b.QueuePosition = 2; b.UnknownStart = true; }),
        ]));

        var exit = await cli.RunAsync("show");

        Assert.Equal(0, exit);
        var output = cli.Console.StdOut;
        Assert.Contains("Starts:      2030-01-02T10:35:00Z\n", output, StringComparison.Ordinal);
        Assert.Contains("Queue:       #2 for h100\n", output, StringComparison.Ordinal);
        Assert.Contains("Starts:      unknown\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_Multinode_ListsEachRankWithItsSshCommand()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", "/api/v1/reservations/abcd", HttpStatusCode.OK, CliHarness.Json(Multinode()));

        var exit = await cli.RunAsync("show", "abcd");

        Assert.Equal(0, exit);
        var output = cli.Console.StdOut;
        Assert.Contains("GPUs:        16×h100 on 2 nodes", output, StringComparison.Ordinal);
        Assert.Contains("  rank 0: local-1 (GPUs 0-7)  ssh -p 31001 dev@127.0.0.1\n", output, StringComparison.Ordinal);
        Assert.Contains("  rank 1: local-2 (GPUs 0-7)  ssh -p 31002 dev@127.0.0.1\n", output, StringComparison.Ordinal);
        Assert.Contains("gpu-dev connect abcdef12 --node RANK", output, StringComparison.Ordinal);
    }

    internal static ReservationDto Multinode(string? hostKey = null) => CliHarness.Reservation("active", configure: b =>
    {
        b.GpuCount = 16;
        b.NodeCount = 2;
        b.Nodes =
        [
            new NodeAllocationDto(0, "local-1", [0, 1, 2, 3, 4, 5, 6, 7]) { Ssh = Ssh(31001, hostKey is null ? null : hostKey + "0") },
            new NodeAllocationDto(1, "local-2", [0, 1, 2, 3, 4, 5, 6, 7]) { Ssh = Ssh(31002, hostKey is null ? null : hostKey + "1") },
        ];
    }) with { Ssh = Ssh(31001, hostKey is null ? null : hostKey + "0") };

    private static SshInfoDto Ssh(int port, string? hostKey) => new()
    {
        Host = "127.0.0.1",
        Port = port,
        User = "dev",
        Command = $"ssh -p {port} dev@127.0.0.1",
        HostKey = hostKey,
    };
}
