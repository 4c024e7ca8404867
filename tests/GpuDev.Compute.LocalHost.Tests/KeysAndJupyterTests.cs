using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using GpuDev.Core.Compute;

namespace GpuDev.Compute.LocalHost.Tests;

public sealed partial class KeysAndJupyterTests
{
    private const string Sshd = "/usr/sbin/sshd";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EnsureAgain_WithAddedUsersKey_NewKeyLogsInWithoutSshdRestartAndOpenSessionSurvives()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var id = LocalHostFixture.NewId();
        var spec = fx.Spec(id, 0);
        var first = await provider.EnsureEnvironmentAsync(spec, Ct);
        Assert.True(first.State == EnvironmentState.Ready, $"{first.State}: {first.Message}");
        var envDir = Path.Combine(fx.StateDir, "envs", id);
        var sshdPid = Assert.Single(ProcessTable.FindSshd(Path.Combine(envDir, "sshd_config"), Sshd));
        var refusedBefore = await fx.SshAsync(first.Ssh!, "true", fx.OtherKey);
        Assert.Equal(255, refusedBefore.ExitCode);

        using var session = await fx.StartPtySessionAsync(first.Ssh!, "echo session-up; sleep 60");
        Assert.True(await session.WaitForAsync("session-up", TimeSpan.FromSeconds(20)), session.Output);
        var running = fx.SshAsync(first.Ssh!, "sleep 4; echo still-here");
        await Task.Delay(500, Ct);

        var second = await provider.EnsureEnvironmentAsync(
            spec with { AuthorizedKeys = [.. spec.AuthorizedKeys, File.ReadAllText(fx.OtherKey + ".pub").Trim()] }, Ct);
        var asB = await fx.SshAsync(second.Ssh!, "echo b-is-in", fx.OtherKey);
        var ended = await running;

        Assert.Equal(EnvironmentState.Ready, second.State);
        Assert.Equal(first.Ssh, second.Ssh);
        Assert.True(asB.Succeeded, asB.Describe("ssh") + " " + asB.StdErr);
        Assert.Equal("b-is-in\n", asB.StdOut);
        Assert.True(ended.Succeeded, ended.Describe("ssh") + " " + ended.StdErr);
        Assert.Equal("still-here\n", ended.StdOut);
        Assert.False(session.Process.HasExited, "the open pty session must survive");
        Assert.Equal([sshdPid], ProcessTable.FindSshd(Path.Combine(envDir, "sshd_config"), Sshd));
        Assert.DoesNotContain("SIGHUP", await File.ReadAllTextAsync(Path.Combine(envDir, "sshd.log"), Ct), StringComparison.Ordinal);
        Assert.Equal(2, (await File.ReadAllLinesAsync(Path.Combine(envDir, "authorized_keys"), Ct)).Length);
        Assert.False(File.Exists(Path.Combine(envDir, "authorized_keys.tmp")));

        // Removing the added user's key again locks them out.
        var third = await provider.EnsureEnvironmentAsync(spec, Ct);
        Assert.Equal(EnvironmentState.Ready, third.State);
        Assert.Equal(255, (await fx.SshAsync(first.Ssh!, "true", fx.OtherKey)).ExitCode);
        Assert.Equal([sshdPid], ProcessTable.FindSshd(Path.Combine(envDir, "sshd_config"), Sshd));
    }

    [Fact]
    public async Task Jupyter_StartTokenIdempotentRestartStopAndRemove()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var id = LocalHostFixture.NewId();
        var status = await provider.EnsureEnvironmentAsync(fx.Spec(id, 1), Ct);
        Assert.True(status.State == EnvironmentState.Ready, $"{status.State}: {status.Message}");
        var envDir = Path.Combine(fx.StateDir, "envs", id);

        if (ProcessRunner.FindOnPath("jupyter-lab") is null && ProcessRunner.FindOnPath("jupyter-notebook") is null)
        {
            Console.WriteLine("jupyter is not installed here: checking the EnvironmentUnavailableException path only");
            var missing = await Assert.ThrowsAsync<EnvironmentUnavailableException>(() => provider.StartJupyterAsync(id, Ct));
            Assert.Equal("Jupyter is not installed on this host: install jupyter-notebook (Debian) or JupyterLab", missing.Message);
            Assert.False(File.Exists(Path.Combine(envDir, "jupyter.json")));
            return;
        }

        var watch = Stopwatch.StartNew();
        var endpoint = await provider.StartJupyterAsync(id, Ct);
        Console.WriteLine($"jupyter-start-ms {watch.ElapsedMilliseconds}");
        TestContext.Current.SendDiagnosticMessage($"Jupyter started in {watch.ElapsedMilliseconds} ms: {endpoint.Url}");

        var lab = ProcessRunner.FindOnPath("jupyter-lab") is not null;
        var match = UrlPattern().Match(endpoint.Url);
        Assert.True(match.Success, endpoint.Url);
        Assert.Equal(lab ? "lab" : "tree", match.Groups["page"].Value);
        Assert.Equal(endpoint.Token, match.Groups["token"].Value);
        var port = int.Parse(match.Groups["port"].Value, CultureInfo.InvariantCulture);
        Assert.NotEqual(status.Ssh!.Port, port);

        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseProxy = false, UseCookies = false });
        var page = await http.GetAsync(endpoint.Url, Ct);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("Jupyter", await page.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        var root = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        foreach (var url in new[] { $"{root}/{match.Groups["page"].Value}", $"{root}/{match.Groups["page"].Value}?token={new string('0', 32)}", $"{root}/api/contents" })
        {
            var denied = await http.GetAsync(url, Ct);
            Assert.True(
                denied.StatusCode == HttpStatusCode.Forbidden
                || (denied.StatusCode == HttpStatusCode.Found && denied.Headers.Location!.OriginalString.Contains("/login", StringComparison.Ordinal)),
                $"{url} -> {(int)denied.StatusCode} {denied.Headers.Location}");
        }

        // It runs as the environment's user, in its sandbox (home /home/dev), with the session variables, and the token is
        // on no command line.
        var uid = int.Parse((await ProcessRunner.RunAsync("id", ["-u", status.Ssh.User], TimeSpan.FromSeconds(5), Ct)).StdOut.Trim(), CultureInfo.InvariantCulture);
        var jupyterPid = ProcessTable.Snapshot().Where(e => e.Uid == uid && e.State != 'Z')
            .Select(e => e.Pid)
            .Single(pid => ProcessTable.CommandLine(pid).Any(a => a.EndsWith("/jupyter-notebook", StringComparison.Ordinal) || a.EndsWith("/jupyter-lab", StringComparison.Ordinal)));
        var environ = (await File.ReadAllTextAsync($"/proc/{jupyterPid}/environ", Ct)).Split('\0');
        Assert.Contains("CUDA_VISIBLE_DEVICES=1", environ);
        Assert.Contains("HOME=/home/dev", environ);
        Assert.Contains("EXTRA_VAR=hello world", environ);
        foreach (var entry in ProcessTable.Snapshot())
        {
            Assert.DoesNotContain(endpoint.Token, string.Join(' ', ProcessTable.CommandLine(entry.Pid)), StringComparison.Ordinal);
        }

        // A kernel starts in the sandbox too (a descendant, so Stop ends it).
        using var kernelRequest = new HttpRequestMessage(HttpMethod.Post, $"{root}/api/kernels");
        kernelRequest.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("token", endpoint.Token);
        kernelRequest.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
        var kernel = await http.SendAsync(kernelRequest, Ct);
        Assert.True(kernel.StatusCode == HttpStatusCode.Created, $"{(int)kernel.StatusCode} {await kernel.Content.ReadAsStringAsync(Ct)}");
        int? kernelPid = null;
        for (var i = 0; i < 100 && kernelPid is null; i++)
        {
            kernelPid = ProcessTable.Snapshot().Where(e => e.Uid == uid && e.State != 'Z').Select(e => (int?)e.Pid)
                .FirstOrDefault(pid => ProcessTable.CommandLine(pid!.Value).Any(a => a.Contains("ipykernel", StringComparison.Ordinal)));
            await Task.Delay(50, Ct);
        }

        Assert.NotNull(kernelPid);

        var again = await provider.StartJupyterAsync(id, Ct);
        var restarted = fx.CreateProvider();
        var afterRestart = await restarted.StartJupyterAsync(id, Ct);
        Assert.Equal(endpoint, again);
        Assert.Equal(endpoint, afterRestart);

        await restarted.StopJupyterAsync(id, Ct);
        await restarted.StopJupyterAsync(id, Ct);
        Assert.False(IsListening(port), "port must be closed after Stop");
        Assert.False(Directory.Exists($"/proc/{jupyterPid}"));
        Assert.False(Directory.Exists($"/proc/{kernelPid}"));
        Assert.False(File.Exists(Path.Combine(envDir, "jupyter.json")));

        // A new start gets a new token; removing the environment stops it.
        var second = await provider.StartJupyterAsync(id, Ct);
        Assert.NotEqual(endpoint.Token, second.Token);
        var secondPort = int.Parse(UrlPattern().Match(second.Url).Groups["port"].Value, CultureInfo.InvariantCulture);
        Assert.True(IsListening(secondPort));
        await provider.RemoveEnvironmentAsync(id, Ct);
        Assert.False(IsListening(secondPort), "port must be closed after Remove");
        Assert.DoesNotContain(ProcessTable.Snapshot(), e => e.Uid == uid && e.State is not ('Z' or 'X'));
        await provider.StopJupyterAsync(id, Ct);
    }

    [Fact]
    public async Task Jupyter_NotInstalledOrNoEnvironment_ThrowsEnvironmentUnavailableAndChangesNothing()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider(o => o.JupyterSearchPath = "/nonexistent-bin");
        var id = LocalHostFixture.NewId();
        var status = await provider.EnsureEnvironmentAsync(fx.Spec(id, 0), Ct);
        Assert.True(status.State == EnvironmentState.Ready, $"{status.State}: {status.Message}");
        var before = Directory.GetFileSystemEntries(Path.Combine(fx.StateDir, "envs", id)).Order().ToList();

        var missing = await Assert.ThrowsAsync<EnvironmentUnavailableException>(() => provider.StartJupyterAsync(id, Ct));

        Assert.Equal("Jupyter is not installed on this host: install jupyter-notebook (Debian) or JupyterLab", missing.Message);
        Assert.Equal(before, Directory.GetFileSystemEntries(Path.Combine(fx.StateDir, "envs", id)).Order().ToList());
        await provider.StopJupyterAsync(id, Ct);

        var absent = fx.CreateProvider();
        if (ProcessRunner.FindOnPath("jupyter-lab") is not null || ProcessRunner.FindOnPath("jupyter-notebook") is not null)
        {
            await Assert.ThrowsAsync<EnvironmentUnavailableException>(() => absent.StartJupyterAsync(LocalHostFixture.NewId(), Ct));
        }
    }

    private static bool IsListening(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    [GeneratedRegex("^http://127\\.0\\.0\\.1:(?<port>[0-9]+)/(?<page>lab|tree)\\?token=(?<token>[0-9a-f]{32})$")]
    private static partial Regex UrlPattern();
}
