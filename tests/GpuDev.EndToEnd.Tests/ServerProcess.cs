using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace GpuDev.EndToEnd.Tests;

/// <summary>The real <c>bin/gpu-dev-server</c> in the background on a free loopback port and its own data dir.</summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private ServerProcess(Process process, string url, string dataDir, string stateDir)
    {
        StateDir = stateDir;
        _process = process;
        Url = url;
        DataDir = dataDir;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Url { get; }

    public string DataDir { get; }

    /// <summary>The local provider's state (environments live in <c>envs/</c>).</summary>
    public string StateDir { get; }

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Bin(string name)
    {
        var path = Path.Combine(RepoRoot, "bin", name);
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"{path} is missing: run ./build.sh first (./test.sh does).");
        }

        return path;
    }

    /// <summary>Starts a server; with <paramref name="dataDir"/> it restarts on an existing store (and its provider state).
    /// <paramref name="extraArgs"/> and <paramref name="environment"/> go to the process as they are (e.g. <c>--store postgres</c>);
    /// <paramref name="port"/>: where it listens (a free one if not given).</summary>
    public static async Task<ServerProcess> StartAsync(string localGpus, string? dataDir = null, string keysUrl = "http://127.0.0.1:9/{user}.keys",
        IReadOnlyList<string>? extraArgs = null, IReadOnlyDictionary<string, string>? environment = null, bool privateUmask = false, int? port = null)
    {
        dataDir ??= Directory.CreateTempSubdirectory("gpu-dev-e2e-").FullName;
        port ??= FreePort();
        var url = $"http://127.0.0.1:{port}";
        var stateDir = Environment.IsPrivilegedProcess
            ? Path.Combine("/var/lib/gpu-dev-tests", Path.GetFileName(dataDir))
            : Path.Combine(dataDir, "local");
        // privateUmask: as quickstart.sh runs it (umask 077), so nothing the server makes is readable by others by default.
        var info = new ProcessStartInfo(privateUmask ? "/bin/sh" : Bin("gpu-dev-server")) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (privateUmask)
        {
            foreach (var arg in new[] { "-c", "umask 077; exec \"$0\" \"$@\"", Bin("gpu-dev-server") })
            {
                info.ArgumentList.Add(arg);
            }
        }

        info.Environment["GPUDEV_LOCALHOST__STATEDIR"] = stateDir;
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        string[] args = localGpus.Length > 0
            ? ["run", "--data-dir", dataDir, "--urls", url, "--local-gpus", localGpus, "--keys-url", keysUrl, .. extraArgs ?? []]
            : ["run", "--data-dir", dataDir, "--urls", url, "--keys-url", keysUrl, .. extraArgs ?? []];
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var server = new ServerProcess(Process.Start(info)!, url, dataDir, stateDir);
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (server._process.HasExited)
            {
                throw new InvalidOperationException($"gpu-dev-server exited with {server._process.ExitCode}:\n{server.Log}");
            }

            try
            {
                if ((await http.GetAsync(new Uri($"{url}/healthz"))).StatusCode == HttpStatusCode.OK)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100);
        }

        await server.DisposeAsync();
        throw new TimeoutException($"gpu-dev-server did not answer /healthz:\n{server.Log}");
    }

    /// <summary>SIGKILL, as a crash: nothing is cleaned up and the data stays for a restart.</summary>
    public async Task CrashAsync()
    {
        _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync();
    }

    /// <summary>Waits for the process to end on its own (an injected crash) and returns its exit code (137: SIGKILL).</summary>
    public async Task<int> WaitExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"gpu-dev-server still runs after {timeout.TotalSeconds} s:\n{Log}");
        }

        return _process.ExitCode;
    }

    /// <summary>Waits until the provider holds no environment any more (every teardown finished).</summary>
    public async Task WaitNoEnvironmentsAsync()
    {
        var envs = Path.Combine(StateDir, "envs");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (Directory.Exists(envs) && Directory.EnumerateFileSystemEntries(envs).Any())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"environments left behind: {string.Join(", ", Directory.EnumerateFileSystemEntries(envs))}");
            }

            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await Proc.RunAsync("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: false);
                await _process.WaitForExitAsync();
            }
        }

        _process.Dispose();
        await RemoveLeftoverEnvironmentsAsync();
        foreach (var dir in new[] { DataDir, StateDir })
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>A failed test may leave reservations running: remove their containers and networks so nothing outlives the test.</summary>
    private async Task RemoveLeftoverEnvironmentsAsync()
    {
        var envs = Path.Combine(StateDir, "envs");
        if (!Directory.Exists(envs))
        {
            return;
        }

        foreach (var env in Directory.EnumerateDirectories(envs))
        {
            var id = Path.GetFileName(env);
            var containers = await Proc.RunAsync("podman", ["ps", "-a", "-q", "--filter", "label=gpu-dev.io/reservation=" + id]);
            foreach (var container in containers.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                await Proc.RunAsync("podman", ["rm", "--force", "--time", "0", container]);
            }

            await Proc.RunAsync("podman", ["network", "rm", "--force", "gpudev-" + id]);
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "gpu-dev.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("gpu-dev.slnx not found above the test directory.");
    }
}
