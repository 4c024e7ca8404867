using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using GpuDev.Contracts;
using GpuDev.Server.Hosting;
using GpuDev.Server.Identity;
using GpuDev.Testing;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Tests.Security;

/// <summary>Strings built to inject into shell commands, sshd configs, authorized_keys options, file paths or
/// Kubernetes object names, sent through every field that reaches one of them: each is refused with a 400/422
/// ProblemDetails that names the field and its rule, and nothing is created. SSH keys and user names, which arrive
/// by <c>user add</c> and GitHub's .keys documents, are refused (or dropped) at those doors.</summary>
public sealed class HostileInputTests
{
    /// <summary>Every hostile value is tried in every field: the count is in <see cref="CaseCount"/>.</summary>
    public static readonly string[] Hostile =
    [
        "a;rm -rf /", "$(id)", "`id`", "a|sh", "a&&id", "../../etc", "..", "/etc/passwd", "a/../../b", "~root",
        "line\nbreak", "a\r\nMatch all", "nul\0byte", "tab\there", "command=\"sh\"", "environment=\"LD_PRELOAD=/x.so\"",
        "-oProxyCommand=sh", "--privileged", "a b", "x' OR '1'='1", "%2e%2e%2f", "\u202eevil", "名前", "Ünïcødé",
        new string('é', 5000), "A" + new string('b', 300), "\"quoted\"", "a:b", "a=b", "*", "{user}", "${HOME}",
    ];

    /// <summary>The fields that reach a shell, a config file, a path or an object name.</summary>
    private static readonly string[] s_fields = ["name", "nodeLabels.key", "nodeLabels.value", "disk", "dockerImage", "diskCreate", "diskRename", "addUsers"];

    public static int CaseCount => Hostile.Length * s_fields.Length;

    [Fact]
    public async Task HostileStrings_EveryField_RefusedNamingTheRuleAndNothingCreated()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");
        (await client.PostAsJsonAsync(Routes.Disks, new CreateDiskRequest("keep"), GpuDevJsonContext.Default.CreateDiskRequest)).EnsureSuccessStatusCode();
        var live = (await (await client.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "h100", GpuCount = 1, Hours = 1 },
            GpuDevJsonContext.Default.CreateReservationRequest)).Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto))!;
        await ServerFixture.WaitForStatusAsync(client, live.Id, "active");
        var failures = new List<string>();
        var run = 0;

        foreach (var field in s_fields)
        {
            foreach (var value in Hostile)
            {
                run++;
                using var response = await SendAsync(client, field, value, live.Id);
                var body = await response.Content.ReadAsStringAsync();
                if ((int)response.StatusCode is not (400 or 422) || response.Content.Headers.ContentType?.MediaType != "application/problem+json" || !NamesField(body, field))
                {
                    failures.Add($"{field} = {Show(value)} -> {(int)response.StatusCode} {Show(body)}");
                }
            }
        }

        Assert.Equal(CaseCount, run);
        Assert.Empty(failures);
        Assert.Single(await server.Store.ListReservationsAsync(new(), CancellationToken.None));
        Assert.Equal(["keep"], (await client.GetFromJsonAsync(Routes.Disks, GpuDevJsonContext.Default.ListDiskDto))!.Select(d => d.Name));
        Assert.Equal([live.Id], server.Provider.Environments.Keys);
        Assert.Empty((await client.GetFromJsonAsync(Routes.Reservation(live.Id), GpuDevJsonContext.Default.ReservationDto))!.AddedUsers);
        TestContext.Current.TestOutputHelper?.WriteLine($"hostile cases run: {run}");
    }

    /// <summary>authorized_keys lines: options (command=, environment=, from=...), extra lines and control characters
    /// never pass; the valid key next to them does, normalised.</summary>
    [Theory]
    [InlineData("command=\"rm -rf /\" " + TestKeys.Ed25519)]
    [InlineData("environment=\"LD_PRELOAD=/tmp/x.so\" " + TestKeys.Ed25519)]
    [InlineData("from=\"*\",no-pty " + TestKeys.Ed25519)]
    [InlineData("restrict,command=\"id\" " + TestKeys.Ed25519)]
    [InlineData("ssh-ed25519 AAAA$(id) x")]
    [InlineData("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 a\0b")]
    [InlineData("ssh-ed25519\tAAAAC3NzaC1lZDI1NTE5AAAAIGcvANupBnfu3Pm/f9VedW8d/eLhMzcd0JTTfmeaS7oF\tx")]
    [InlineData("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIGcvANupBnfu3Pm/f9VedW8d/eLhMzcd0JTTfmeaS7oF wrong-type")]
    [InlineData("sh -c id")]
    public async Task KeysDocument_HostileLine_DroppedAndValidKeyKept(string hostile)
    {
        var text = hostile + "\n" + TestKeys.Ed25519 + " \"; touch /tmp/pwned\r\n";
        using var http = new HttpClient(new StaticHandler(text));
        var source = new HttpSshKeySource(http, Options.Create(new ServerOptions { KeysUrl = "http://keys.test/{user}.keys" }));

        var keys = await source.GetKeysAsync("alice", CancellationToken.None);

        var key = Assert.Single(keys);
        Assert.StartsWith("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGcvANupBnfu3Pm/f9VedW8d/eLhMzcd0JTTfmeaS7oF ", key, StringComparison.Ordinal);
        Assert.DoesNotContain('"', key);
        Assert.DoesNotContain(';', key);
        Assert.DoesNotContain(' ', key.Split(' ', 3)[2]);
    }

    [Theory]
    [InlineData("a;rm -rf /", null, "")]
    [InlineData("$(id)", null, "")]
    [InlineData("../../etc", null, "")]
    [InlineData("root\n", null, "")]
    [InlineData("Alice", null, "")]
    [InlineData("ok", "gh;id", "")]
    [InlineData("ok", "../x", "")]
    [InlineData("ok", "a--b", "")]
    [InlineData("ok", null, "command=\"sh\" ")]
    [InlineData("ok", null, "environment=\"A=B\" ")]
    public async Task UserAdd_HostileNameGithubOrKey_RefusedAndNoUser(string name, string? github, string keyPrefix)
    {
        var dataDir = Directory.CreateTempSubdirectory("gpu-dev-hostile-").FullName;
        var keyFile = Path.Combine(dataDir, "key.pub");
        await File.WriteAllTextAsync(keyFile, keyPrefix + TestKeys.Ed25519 + "\n");
        var keyIsHostile = keyPrefix.Length > 0;
        string[] args = ["add", name, "--data-dir", dataDir, "--ssh-key", keyFile, .. github is null ? Array.Empty<string>() : ["--github", github]];
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        try
        {
            var exit = await UserCommand.RunAsync(args, stdout, stderr);

            Assert.Equal(1, exit);
            Assert.Empty(stdout.ToString());
            Assert.StartsWith("error: ", stderr.ToString(), StringComparison.Ordinal);
            Assert.Contains(keyIsHostile ? "key options are not accepted" : "invalid", stderr.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient client, string field, string value, string liveId) => field switch
    {
        "diskCreate" => client.PostAsJsonAsync(Routes.Disks, new CreateDiskRequest(value), GpuDevJsonContext.Default.CreateDiskRequest),
        "diskRename" => client.PostAsJsonAsync(Routes.Disk("keep") + "/rename", new RenameDiskRequest(value), GpuDevJsonContext.Default.RenameDiskRequest),
        "addUsers" => client.PatchAsync(Routes.Reservation(liveId), JsonContent.Create(new EditReservationRequest { AddUsers = [value] }, GpuDevJsonContext.Default.EditReservationRequest)),
        _ => client.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest
        {
            GpuType = "h100",
            GpuCount = 1,
            Hours = 1,
            Name = field == "name" ? value : null,
            Disk = field == "disk" ? value : null,
            DockerImage = field == "dockerImage" ? value : null,
            NodeLabels = field switch
            {
                "nodeLabels.key" => new Dictionary<string, string> { [value] = "x" },
                "nodeLabels.value" => new Dictionary<string, string> { ["zone"] = value },
                _ => null,
            },
        }, GpuDevJsonContext.Default.CreateReservationRequest),
    };

    /// <summary>The problem names the field (its <c>errors</c> key) and says what the rule is (a detail).</summary>
    private static bool NamesField(string body, string field)
    {
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        var key = field switch
        {
            "nodeLabels.key" or "nodeLabels.value" => "nodeLabels",
            "diskCreate" => "name",
            "diskRename" => "newName",
            _ => field,
        };
        var named = root.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object &&
            errors.EnumerateObject().Any(e => string.Equals(e.Name, key, StringComparison.OrdinalIgnoreCase));
        var detail = root.TryGetProperty("detail", out var d) ? d.GetString() ?? "" : "";
        return (named || detail.Contains(key, StringComparison.OrdinalIgnoreCase)) && detail.Length > 0;
    }

    private static string Show(string value) => value.Length > 80 ? JsonSerializer.Serialize(value[..80]) + "..." : JsonSerializer.Serialize(value);

    private sealed class StaticHandler(string text) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(text, Encoding.UTF8, "text/plain") });
    }
}
