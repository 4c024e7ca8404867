using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace GpuDev.Testing.Kubernetes;

/// <summary>Makes the fake kubelet "run" gpu-dev environment pods for real where it matters: it starts OpenSSH's sshd
/// with the host key from the pod's Secret, listening on 127.0.0.1 at the NodePort of the Service that selects the pod,
/// so the provider's SSH handshake check (ssh-keyscan against node IP and NodePort) runs unchanged. Needs root.</summary>
public sealed class SshdBackend : IPodBackend
{
    private readonly FakeKubernetesServer _server;
    private readonly string _dir = Path.Combine("/var/lib/gpu-dev-tests", $"k8s-sshd-{Guid.NewGuid():N}"[..24]);
    private readonly ConcurrentDictionary<string, Process> _running = new(StringComparer.Ordinal);

    public SshdBackend(FakeKubernetesServer server)
    {
        _server = server;
        Directory.CreateDirectory(_dir);
        File.SetUnixFileMode(_dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        server.OnPodStarting = StartAsync;
        server.OnPodDeleted = StopAsync;
    }

    /// <summary>Why the backend cannot run here, or null.</summary>
    public static string? UnavailableReason =>
        Environment.UserName != "root" ? "the fake cluster's sshd backend needs root (sshd with its own host keys and ports)"
        : !File.Exists("/usr/sbin/sshd") ? "the fake cluster's sshd backend needs OpenSSH's sshd at /usr/sbin/sshd"
        : null;

    public string Name => "sshd";

    /// <summary>Pods with a running sshd, by namespace/name.</summary>
    public IReadOnlyCollection<string> Running => [.. _running.Keys];

    private async Task StartAsync(PodStartContext context, CancellationToken cancellationToken)
    {
        var pod = context.Pod;
        var labels = pod["metadata"]?["labels"]?.AsObject();
        if (labels?["gpu-dev.io/role"]?.GetValue<string>() != "environment" || pod["spec"]?["containers"]?[0]?["command"] is null)
        {
            return;
        }

        var ns = pod["metadata"]!["namespace"]!.GetValue<string>();
        var name = pod["metadata"]!["name"]!.GetValue<string>();
        var secretName = pod["spec"]!["volumes"]!.AsArray().Select(v => v?["secret"]?["secretName"]?.GetValue<string>()).First(n => n is not null)!;
        var secret = _server.Get("secrets", ns, secretName) ?? throw new InvalidOperationException($"secret {secretName} is missing");
        var hostKey = SecretText(secret, "ssh_host_ed25519_key");
        var port = await NodePortAsync(ns, labels, cancellationToken);

        var podDir = Path.Combine(_dir, name);
        Directory.CreateDirectory(podDir);
        var keyFile = Path.Combine(podDir, "host_key");
        await File.WriteAllTextAsync(keyFile, hostKey, cancellationToken);
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var config = Path.Combine(podDir, "sshd_config");
        await File.WriteAllTextAsync(config,
            $"""
            Port {port}
            ListenAddress 127.0.0.1
            HostKey {keyFile}
            PidFile {podDir}/sshd.pid
            AuthorizedKeysFile none
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no

            """, cancellationToken);
        var process = Process.Start(new ProcessStartInfo("/usr/sbin/sshd", ["-D", "-e", "-f", config]) { RedirectStandardError = true, UseShellExecute = false })
            ?? throw new InvalidOperationException("sshd did not start");
        _ = process.StandardError.ReadToEndAsync(CancellationToken.None);
        _running[$"{ns}/{name}"] = process;
        await WaitListeningAsync(port, process, cancellationToken);
    }

    private Task StopAsync(JsonObject pod, CancellationToken cancellationToken)
    {
        var key = $"{pod["metadata"]?["namespace"]?.GetValue<string>()}/{pod["metadata"]?["name"]?.GetValue<string>()}";
        if (_running.TryRemove(key, out var process))
        {
            Stop(process);
        }

        return Task.CompletedTask;
    }

    private async Task<int> NodePortAsync(string ns, JsonObject podLabels, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            foreach (var service in _server.List("services", ns))
            {
                var spec = service["spec"];
                var selector = spec?["selector"]?.AsObject();
                if (spec?["type"]?.GetValue<string>() != "NodePort" || selector is null || selector.Count == 0
                    || spec["ports"]?[0]?["port"]?.GetValue<int>() != 22
                    || !selector.All(s => podLabels[s.Key]?.GetValue<string>() == s.Value?.GetValue<string>()))
                {
                    continue;
                }

                if (spec["ports"]?[0]?["nodePort"]?.GetValue<int>() is { } port and > 0)
                {
                    return port;
                }
            }

            await Task.Delay(10, cancellationToken);
        }

        throw new TimeoutException("no NodePort service selects the pod");
    }

    private static async Task WaitListeningAsync(int port, Process process, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"sshd exited with {process.ExitCode}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port, cancellationToken);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(10, cancellationToken);
            }
        }

        throw new TimeoutException($"sshd did not listen on {port}");
    }

    public static string SecretText(JsonObject secret, string key) =>
        secret["data"]?[key]?.GetValue<string>() is { } b64 ? Encoding.UTF8.GetString(Convert.FromBase64String(b64))
        : secret["stringData"]?[key]?.GetValue<string>() ?? throw new InvalidOperationException($"the secret has no {key}");

    private static void Stop(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }

        process.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        foreach (var key in _running.Keys)
        {
            if (_running.TryRemove(key, out var process))
            {
                Stop(process);
            }
        }

        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }
}
