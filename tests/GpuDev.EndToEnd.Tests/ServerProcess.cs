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

    private ServerProcess(Process process, string url, string dataDir)
    {
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

    public static async Task<ServerProcess> StartAsync(string localGpus)
    {
        var dataDir = Directory.CreateTempSubdirectory("gpu-dev-e2e-").FullName;
        var port = FreePort();
        var url = $"http://127.0.0.1:{port}";
        var info = new ProcessStartInfo(Bin("gpu-dev-server")) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "run", "--data-dir", dataDir, "--urls", url, "--local-gpus", localGpus, "--keys-url", "http://127.0.0.1:9/{user}.keys" })
        {
            info.ArgumentList.Add(arg);
        }

        var server = new ServerProcess(Process.Start(info)!, url, dataDir);
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

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
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

    private static int FreePort()
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
