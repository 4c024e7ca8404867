using System.Net;
using System.Text.Json;
using GpuDev.Contracts;

namespace GpuDev.Cli.Tests.Commands;

public sealed class KeysCommandTests
{
    private const string Keys = "/api/v1/me/keys";
    private const string KeyLine = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKnownTestKey alice@laptop";
    private const string Fingerprint = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s";
    private const string Active = "abcdef1234567890abcdef1234567890";

    private static SshKeyDto Key(string fingerprint = Fingerprint, string type = "ssh-ed25519", string? comment = "alice@laptop") =>
        new(fingerprint, type, comment, $"{type} AAAA {comment}".TrimEnd());

    private static string Json(List<SshKeyDto> k) => JsonSerializer.Serialize(k, GpuDevJsonContext.Default.ListSshKeyDto);

    private static string Change(params string[] reservations) =>
        JsonSerializer.Serialize(new SshKeyChangeDto(Key(), [.. reservations]), GpuDevJsonContext.Default.SshKeyChangeDto);

    [Fact]
    public async Task List_Tty_FingerprintTypeComment()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", Keys, HttpStatusCode.OK, Json([Key(), Key("SHA256:" + new string('A', 43), "ssh-rsa", null)]));

        Assert.Equal(0, await cli.RunAsync("keys", "list"));

        var lines = cli.Console.StdOut.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).ToList();
        Assert.Matches(@"^FINGERPRINT\s+TYPE\s+COMMENT$", lines[0]);
        Assert.Matches($@"^{Fingerprint}\s+ssh-ed25519\s+alice@laptop$", lines[1]);
        Assert.Matches(@"^SHA256:A{43}\s+ssh-rsa\s+-$", lines[2]);
    }

    [Fact]
    public async Task List_PipedAndJson()
    {
        using var piped = new CliHarness(tty: false);
        piped.Http.On("GET", Keys, HttpStatusCode.OK, Json([Key()]));
        using var json = new CliHarness(tty: false);
        json.Http.On("GET", Keys, HttpStatusCode.OK, Json([Key()]));

        Assert.Equal(0, await piped.RunAsync("keys", "list"));
        Assert.Equal(0, await json.RunAsync("keys", "list", "--json"));

        Assert.Equal($"{Fingerprint}\tssh-ed25519\talice@laptop\n", piped.Console.StdOut.Replace("\r\n", "\n", StringComparison.Ordinal));
        using var doc = JsonDocument.Parse(json.Console.StdOut);
        Assert.Equal(Fingerprint, doc.RootElement[0].GetProperty("fingerprint").GetString());
    }

    [Fact]
    public async Task Add_PubFile_PostsTheLineAndSaysWhichReservationsGotIt()
    {
        using var cli = new CliHarness();
        var file = Path.Combine(cli.TempDir, "id_ed25519.pub");
        File.WriteAllText(file, KeyLine + "\n");
        cli.Http.On("POST", Keys, HttpStatusCode.Created, Change(Active));

        Assert.Equal(0, await cli.RunAsync("keys", "add", file));

        var request = cli.Http.Requests.Single();
        Assert.Equal("POST", request.Method.Method);
        Assert.Equal(KeyLine, JsonDocument.Parse(request.Body!).RootElement.GetProperty("key").GetString());
        Assert.Equal($"Added key {Fingerprint} (ssh-ed25519, alice@laptop); 1 active reservation got the change (abcdef12)", cli.Console.StdOut.Trim());
    }

    [Fact]
    public async Task Add_Stdin_ReadsTheKeyFromIt_Json()
    {
        using var cli = new CliHarness { StandardInput = "\n" + KeyLine + "\n" };
        cli.Http.On("POST", Keys, HttpStatusCode.Created, Change());

        Assert.Equal(0, await cli.RunAsync("keys", "add", "-", "--json"));

        Assert.Equal(KeyLine, JsonDocument.Parse(cli.Http.Requests.Single().Body!).RootElement.GetProperty("key").GetString());
        using var doc = JsonDocument.Parse(cli.Console.StdOut);
        Assert.Equal(0, doc.RootElement.GetProperty("updatedReservations").GetArrayLength());
    }

    [Fact]
    public async Task Add_NoActiveReservations_SaysSo()
    {
        using var cli = new CliHarness { StandardInput = KeyLine };
        cli.Http.On("POST", Keys, HttpStatusCode.Created, Change());

        Assert.Equal(0, await cli.RunAsync("keys", "add", "-"));

        Assert.EndsWith("; no active reservation needed the change", cli.Console.StdOut.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Add_PrivateKeyFile_RefusedBeforeAnyRequest()
    {
        using var cli = new CliHarness();
        var file = Path.Combine(cli.TempDir, "id_ed25519");
        File.WriteAllText(file, "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n");

        var exit = await cli.RunAsync("keys", "add", file);

        Assert.Equal(1, exit);
        Assert.Equal($"error: {file} holds a private key; never send it anywhere. Give the public key instead ({file}.pub)", cli.Console.StdErr.Trim());
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Add_MissingFile_RefusedBeforeAnyRequest()
    {
        using var cli = new CliHarness();
        var file = Path.Combine(cli.TempDir, "nope.pub");

        var exit = await cli.RunAsync("keys", "add", file);

        Assert.Equal(1, exit);
        Assert.StartsWith($"error: no such file: {file}\nhint: make a key with `ssh-keygen -t ed25519`", cli.Console.StdErr.Replace("\r\n", "\n", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Empty(cli.Http.Requests);
    }

    [Theory]
    [InlineData("", "stdin is empty")]
    [InlineData("ssh-ed25519 AAAA a\nssh-ed25519 BBBB b\n", "stdin has 2 lines; give one public key per `gpu-dev keys add`")]
    public async Task Add_EmptyOrSeveralKeys_RefusedBeforeAnyRequest(string input, string expected)
    {
        using var cli = new CliHarness { StandardInput = input };

        var exit = await cli.RunAsync("keys", "add", "-");

        Assert.Equal(1, exit);
        Assert.StartsWith($"error: {expected}", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Add_ServerRefusesTheLine_OneLine()
    {
        using var cli = new CliHarness { StandardInput = "not a key" };
        cli.Http.On("POST", Keys, HttpStatusCode.BadRequest,
            """{"title":"Bad Request","status":400,"code":"validation","detail":"That is not an OpenSSH public key line: 'TYPE BASE64 [comment]'."}""");

        var exit = await cli.RunAsync("keys", "add", "-");

        Assert.Equal(1, exit);
        Assert.Equal("error: That is not an OpenSSH public key line: 'TYPE BASE64 [comment]'.", cli.Console.StdErr.Trim());
    }

    [Theory]
    [InlineData(Fingerprint)]
    [InlineData("uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s")]
    public async Task Remove_WithOrWithoutPrefix_DeletesByTheFullFingerprint(string given)
    {
        using var cli = new CliHarness();
        var path = $"{Keys}?fingerprint={Uri.EscapeDataString(Fingerprint)}";
        cli.Http.On("DELETE", path, HttpStatusCode.OK, Change(Active, "11111111111111111111111111111111"));

        Assert.Equal(0, await cli.RunAsync("keys", "remove", given));

        Assert.Equal(path, cli.Http.Requests.Single().PathAndQuery);
        Assert.Equal($"Removed key {Fingerprint} (ssh-ed25519); 2 active reservations got the change (abcdef12, 11111111)", cli.Console.StdOut.Trim());
    }

    [Theory]
    [InlineData("SHA256:short")]
    [InlineData("MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48")]
    public async Task Remove_NotAFingerprint_RefusedBeforeAnyRequest(string given)
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("keys", "remove", given);

        Assert.Equal(1, exit);
        Assert.Equal($"error: FINGERPRINT must be SHA256: and 43 base64 characters, as `gpu-dev keys list` shows it; got \"{given}\"", cli.Console.StdErr.Trim());
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Remove_NotYours_ServersLineAndHint()
    {
        using var cli = new CliHarness();
        cli.Http.On("DELETE", $"{Keys}?fingerprint={Uri.EscapeDataString(Fingerprint)}", HttpStatusCode.NotFound,
            """{"title":"Not Found","status":404,"code":"not-found","detail":"You have no registered SSH keys."}""");

        var exit = await cli.RunAsync("keys", "remove", Fingerprint);

        Assert.Equal(1, exit);
        Assert.Equal("error: You have no registered SSH keys.\nhint: see your keys with `gpu-dev keys list`", cli.Console.StdErr.Trim().Replace("\r\n", "\n", StringComparison.Ordinal));
    }
}
