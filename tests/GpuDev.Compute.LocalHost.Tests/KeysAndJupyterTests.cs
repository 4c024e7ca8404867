using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using GpuDev.Core.Compute;

namespace GpuDev.Compute.LocalHost.Tests;

public sealed partial class KeysAndJupyterTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EnsureAgain_WithAddedUsersKey_NewKeyLogsInWithoutRestartAndOpenSessionSurvives()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var id = LocalHostFixture.NewId();
        var spec = fx.Spec(id, 0);
        var first = await provider.EnsureEnvironmentAsync(spec, Ct);
        Assert.True(first.State == EnvironmentState.Ready, $"{first.State}: {first.Message}");
        var started = await LocalHostProviderTests.Podman(["container", "inspect", "--format", "{{.State.StartedAt}}", $"gpudev-{id}-0"]);
        Assert.Equal(255, (await fx.SshAsync(first.Ssh!, "true", fx.OtherKey)).ExitCode);

        using var session = await fx.StartPtySessionAsync(first.Ssh!, "echo session-up; sleep 60");
        Assert.True(await session.WaitForAsync("session-up", TimeSpan.FromSeconds(20)), session.Output);
        var running = fx.SshAsync(first.Ssh!, "sleep 4; echo still-here");
        await Task.Delay(500, Ct);

        var second = await provider.EnsureEnvironmentAsync(
            spec with { AuthorizedKeys = [.. spec.AuthorizedKeys, File.ReadAllText(fx.OtherKey + ".pub").Trim()] }, Ct);
        var asB = await fx.SshAsync(second.Ssh!, "echo b-is-in; id -un", fx.OtherKey);
        var ended = await running;

        Assert.Equal(EnvironmentState.Ready, second.State);
        Assert.Equal(first.Ssh, second.Ssh);
        Assert.True(asB.Succeeded, asB.Describe("ssh") + " " + asB.StdErr);
        Assert.Equal("b-is-in\ndev\n", asB.StdOut);
        Assert.Equal("still-here\n", ended.StdOut);
        Assert.False(session.Process.HasExited, "the open pty session must survive");
        Assert.Equal(started, await LocalHostProviderTests.Podman(["container", "inspect", "--format", "{{.State.StartedAt}}", $"gpudev-{id}-0"]));

        // Removing the added user's key again locks them out.
        var third = await provider.EnsureEnvironmentAsync(spec, Ct);
        Assert.Equal(EnvironmentState.Ready, third.State);
        Assert.Equal(255, (await fx.SshAsync(first.Ssh!, "true", fx.OtherKey)).ExitCode);
    }

    [Fact]
    public async Task Jupyter_FromTheImage_TokenSessionVariablesIdempotentStopAndRemove()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var id = LocalHostFixture.NewId();
        var status = await provider.EnsureEnvironmentAsync(fx.Spec(id, 1), Ct);
        Assert.True(status.State == EnvironmentState.Ready, $"{status.State}: {status.Message}");

        var watch = Stopwatch.StartNew();
        var endpoint = await provider.StartJupyterAsync(id, Ct);
        TestContext.Current.SendDiagnosticMessage($"Jupyter started in {watch.ElapsedMilliseconds} ms: {endpoint.Url}");

        var match = UrlPattern().Match(endpoint.Url);
        Assert.True(match.Success, endpoint.Url);
        Assert.Equal("tree", match.Groups["page"].Value);
        Assert.Equal(endpoint.Token, match.Groups["token"].Value);
        var port = int.Parse(match.Groups["port"].Value, CultureInfo.InvariantCulture);
        Assert.NotEqual(status.Ssh!.Port, port);

        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseProxy = false, UseCookies = false });
        var page = await http.GetAsync(endpoint.Url, Ct);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var root = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        foreach (var url in new[] { $"{root}/tree", $"{root}/tree?token={new string('0', 32)}", $"{root}/api/contents" })
        {
            var denied = await http.GetAsync(url, Ct);
            Assert.True(
                denied.StatusCode == HttpStatusCode.Forbidden
                || (denied.StatusCode == HttpStatusCode.Found && denied.Headers.Location!.OriginalString.Contains("/login", StringComparison.Ordinal)),
                $"{url} -> {(int)denied.StatusCode} {denied.Headers.Location}");
        }

        // It runs as dev with the sessions' variables, and the token is on no command line.
        var inside = await fx.SshAsync(status.Ssh, "ps -o user= -p $(pgrep -o -f jupyter-notebook); " +
            "cat /proc/$(pgrep -o -f jupyter-notebook)/environ | tr '\\0' '\\n' | grep -E '^(CUDA_VISIBLE_DEVICES|HOME|EXTRA_VAR|GPU_DEV_GPUS)=' | sort");
        Assert.Equal(["dev", "CUDA_VISIBLE_DEVICES=0", "EXTRA_VAR=hello world", "GPU_DEV_GPUS=1", "HOME=/home/dev"], inside.StdOut.TrimEnd('\n').Split('\n'));
        var commandLines = await LocalHostProviderTests.Podman(["exec", $"gpudev-{id}-0", "ps", "-eo", "args"]);
        Assert.Contains("jupyter-notebook", commandLines, StringComparison.Ordinal);
        Assert.DoesNotContain(endpoint.Token, commandLines, StringComparison.Ordinal);

        var again = await provider.StartJupyterAsync(id, Ct);
        var afterRestart = await fx.CreateProvider().StartJupyterAsync(id, Ct);
        Assert.Equal(endpoint, again);
        Assert.Equal(endpoint, afterRestart);

        await provider.StopJupyterAsync(id, Ct);
        await provider.StopJupyterAsync(id, Ct);
        Assert.False(await AnswersAsync(http, root), "Jupyter must not answer after Stop");
        Assert.Equal("0\n", (await fx.SshAsync(status.Ssh, "ps -eo args | grep -c '^/usr/bin/python3 /usr/bin/jupyter-notebook' || true")).StdOut);

        var second = await provider.StartJupyterAsync(id, Ct);
        Assert.Equal(endpoint.Url, second.Url);
        Assert.True(await AnswersAsync(http, root));
        await provider.RemoveEnvironmentAsync(id, Ct);
        Assert.False(await AnswersAsync(http, root), "Jupyter must not answer after Remove");
        await provider.StopJupyterAsync(id, Ct);
    }

    [Fact]
    public async Task Jupyter_NotInTheImageOrNoEnvironment_ThrowsEnvironmentUnavailable()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var id = LocalHostFixture.NewId();
        var status = await provider.EnsureEnvironmentAsync(fx.Spec(id, 0), Ct);
        Assert.True(status.State == EnvironmentState.Ready, $"{status.State}: {status.Message}");
        Assert.True((await fx.SshAsync(status.Ssh!, "sudo rm /usr/bin/jupyter-notebook")).Succeeded);

        var missing = await Assert.ThrowsAsync<EnvironmentUnavailableException>(() => provider.StartJupyterAsync(id, Ct));
        var absent = await Assert.ThrowsAsync<EnvironmentUnavailableException>(() => provider.StartJupyterAsync(LocalHostFixture.NewId(), Ct));

        Assert.Equal($"Jupyter is not installed in the image {LocalHostOptions.DevboxImage} (it has neither jupyter-lab nor jupyter-notebook)", missing.Message);
        Assert.False(File.Exists(Path.Combine(fx.StateDir, "envs", id, "config", "jupyter")));
        Assert.Contains("not running", absent.Message, StringComparison.Ordinal);
    }

    private static async Task<bool> AnswersAsync(HttpClient http, string root)
    {
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            cts.CancelAfter(TimeSpan.FromSeconds(3));
            var response = await http.GetAsync(root + "/api/status", cts.Token);
            return response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Forbidden;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    [GeneratedRegex("^http://127\\.0\\.0\\.1:(?<port>[0-9]+)/(?<page>lab|tree)\\?token=(?<token>[0-9a-f]{32})$")]
    private static partial Regex UrlPattern();
}
