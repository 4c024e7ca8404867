using System.Globalization;
using GpuDev.Core.Compute;
using GpuDev.Core.Reservations;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GpuDev.Compute.LocalHost.Tests;

/// <summary>A throw-away StateDir, a client key and helpers to talk to environments with the real ssh client.</summary>
internal sealed class LocalHostFixture : IAsyncDisposable
{
    private const string TestRoot = "/var/lib/gpu-dev-tests";
    private static readonly TimeSpan s_sshTimeout = TimeSpan.FromSeconds(20);

    private readonly List<LocalHostProvider> _providers = [];

    private LocalHostFixture(string root)
    {
        Root = root;
        StateDir = Path.Combine(root, "state");
        DataDir = Path.Combine(root, "data");
        ClientDir = Path.Combine(root, "client");
        Disks = LocalDisks.ForStateDir(StateDir, TimeProvider.System, NullLogger.Instance);
    }

    /// <summary>The disk store (<c>&lt;StateDir&gt;/disks</c>) shared by every provider this fixture creates.</summary>
    public LocalDisks Disks { get; }

    public string Root { get; }

    public string StateDir { get; }

    public string DataDir { get; }

    public string ClientDir { get; }

    public string ClientKey => Path.Combine(ClientDir, "id_ed25519");

    public string OtherKey => Path.Combine(ClientDir, "other_ed25519");

    /// <summary>Skips the test unless we are root (CI is); fails when podman or the default image is missing (CI installs and
    /// builds them: .ci/run, images/devbox/build.sh); then makes the directories and client keys.</summary>
    public static async Task<LocalHostFixture> CreateAsync()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            TestSkips.Skip("The local-host provider tests need root (per-owner uid ranges for the containers).");
        }

        var image = await ProcessRunner.RunAsync("podman", ["image", "exists", LocalHostOptions.DevboxImage], s_sshTimeout, CancellationToken.None);
        Assert.True(image.Succeeded, $"The local-host provider tests need podman and the image {LocalHostOptions.DevboxImage}: apt-get install podman runc, then images/devbox/build.sh ({image.Describe("podman image exists")}).");

        Directory.CreateDirectory(TestRoot);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(TestRoot, (UnixFileMode)Convert.ToInt32("755", 8));
        }
        var fixture = new LocalHostFixture(Path.Combine(TestRoot, Guid.NewGuid().ToString("N")[..12]));
        Directory.CreateDirectory(fixture.Root);
        Directory.CreateDirectory(fixture.DataDir);
        Directory.CreateDirectory(fixture.ClientDir);
        foreach (var key in new[] { fixture.ClientKey, fixture.OtherKey })
        {
            var result = await ProcessRunner.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", key], s_sshTimeout, CancellationToken.None);
            Assert.True(result.Succeeded, result.Describe("ssh-keygen"));
        }

        return fixture;
    }

    public LocalHostProvider CreateProvider(Action<LocalHostOptions>? configure = null)
    {
        var options = new LocalHostOptions
        {
            StateDir = StateDir,
            Gpus = "h100:4",
            ReadyTimeout = TimeSpan.FromSeconds(30),
        };
        configure?.Invoke(options);
        var provider = new LocalHostProvider(Options.Create(options), new LocalHostContext(DataDir), TimeProvider.System, NullLogger<LocalHostProvider>.Instance, Disks);
        _providers.Add(provider);
        return provider;
    }

    public LocalHostDiskProvider CreateDiskProvider() => new(Disks);

    public static string NewId() => Guid.NewGuid().ToString("N");

    public EnvironmentSpec Spec(string id, params int[] gpus) => new()
    {
        ReservationId = id,
        Owner = "alice",
        AuthorizedKeys = [File.ReadAllText(ClientKey + ".pub").Trim()],
        Allocations = [new NodeAllocation(0, "local-0", gpus)],
        GpuType = "h100",
        Environment = new Dictionary<string, string> { ["EXTRA_VAR"] = "hello world" },
    };

    /// <summary>A multinode spec: one allocation per element of <paramref name="gpusPerRank"/>, rank r on node <c>local-r</c>.</summary>
    public EnvironmentSpec MultinodeSpec(string id, params int[][] gpusPerRank) => Spec(id) with
    {
        Allocations = [.. gpusPerRank.Select((gpus, rank) => new NodeAllocation(rank, "local-" + rank.ToString(CultureInfo.InvariantCulture), gpus))],
    };

    /// <summary>Runs <paramref name="command"/> in the environment with the real ssh client, trusting only the returned host key.</summary>
    public async Task<ProcessResult> SshAsync(SshEndpoint endpoint, string command, string? key = null)
    {
        var knownHosts = Path.Combine(ClientDir, "known_hosts_" + endpoint.Port.ToString(CultureInfo.InvariantCulture));
        await File.WriteAllTextAsync(knownHosts, $"[{endpoint.Host}]:{endpoint.Port} {endpoint.HostKey}\n");
        return await ProcessRunner.RunAsync(
            "ssh",
            [
                "-F", "/dev/null", "-i", key ?? ClientKey, "-p", endpoint.Port.ToString(CultureInfo.InvariantCulture),
                "-o", "UserKnownHostsFile=" + knownHosts, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
                "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=5",
                endpoint.User + "@" + endpoint.Host, command,
            ],
            s_sshTimeout,
            CancellationToken.None);
    }

    /// <summary>Starts <c>ssh -tt</c> into the environment under <c>script</c> (a real pty on both sides), running
    /// <paramref name="command"/>; what the terminal shows is appended to <see cref="PtySession.Typescript"/>.</summary>
    public async Task<PtySession> StartPtySessionAsync(SshEndpoint endpoint, string command)
    {
        var knownHosts = Path.Combine(ClientDir, "known_hosts_" + endpoint.Port.ToString(CultureInfo.InvariantCulture));
        await File.WriteAllTextAsync(knownHosts, $"[{endpoint.Host}]:{endpoint.Port} {endpoint.HostKey}\n");
        var typescript = Path.Combine(ClientDir, "typescript-" + Guid.NewGuid().ToString("N")[..8]);
        var ssh = string.Join(' ', new[]
        {
            "ssh", "-tt", "-F", "/dev/null", "-i", ClientKey, "-p", endpoint.Port.ToString(CultureInfo.InvariantCulture),
            "-o", "UserKnownHostsFile=" + knownHosts, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
            "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=5", endpoint.User + "@" + endpoint.Host, command,
        }.Select(Quote));
        var startInfo = new System.Diagnostics.ProcessStartInfo("script")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-q", "-f", "-e", "-c", ssh, typescript })
        {
            startInfo.ArgumentList.Add(arg);
        }

        var process = System.Diagnostics.Process.Start(startInfo)!;
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        return new PtySession(process, typescript);
    }

    private static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>Removes every environment the test's providers hold, then checks that no container or network of them is left
    /// (a leak fails the test).</summary>
    public async ValueTask DisposeAsync()
    {
        var problems = new List<string>();
        foreach (var provider in _providers)
        {
            try
            {
                foreach (var id in await provider.ListEnvironmentsAsync(CancellationToken.None))
                {
                    await provider.RemoveEnvironmentAsync(id, CancellationToken.None);
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
            {
                problems.Add("cleanup: " + ex.Message);
            }
        }

        foreach (var stateDir in _providers.Select(p => p.StateDirForTests).Distinct())
        {
            var label = "label=gpu-dev.io/instance=" + LocalPaths.ShortHash(Path.GetFullPath(stateDir));
            var containers = await ProcessRunner.RunAsync("podman", ["ps", "-a", "--filter", label, "--format", "{{.Names}}"], s_sshTimeout, CancellationToken.None);
            var networks = await ProcessRunner.RunAsync("podman", ["network", "ls", "--filter", label, "--format", "{{.Name}}"], s_sshTimeout, CancellationToken.None);
            if ((containers.StdOut + networks.StdOut).Trim() is { Length: > 0 } left)
            {
                problems.Add("left behind: " + left.ReplaceLineEndings(" "));
            }
        }

        if (Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }

        Assert.True(problems.Count == 0, string.Join("; ", problems));
    }
}

/// <summary>A running <c>script</c> + <c>ssh -tt</c> session (stdin kept open so that it runs until its command ends).</summary>
internal sealed class PtySession(System.Diagnostics.Process process, string typescript) : IDisposable
{
    public System.Diagnostics.Process Process { get; } = process;

    public string Typescript { get; } = typescript;

    public string Output => File.Exists(Typescript) ? File.ReadAllText(Typescript) : string.Empty;

    /// <summary>Waits until the terminal showed <paramref name="text"/>; false after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForAsync(string text, TimeSpan timeout)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            if (Output.Contains(text, StringComparison.Ordinal))
            {
                return true;
            }

            await Task.Delay(50);
        }

        return Output.Contains(text, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        try
        {
            Process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }

        Process.Dispose();
    }
}
