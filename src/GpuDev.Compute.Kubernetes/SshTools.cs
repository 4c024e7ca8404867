using System.Diagnostics;

namespace GpuDev.Compute.Kubernetes;

/// <summary>An ed25519 key pair in OpenSSH formats: the private key file's text and the public key line (no comment).</summary>
internal sealed record HostKeyPair(string PrivateKey, string PublicKey);

/// <summary>OpenSSH's own tools, run as processes: <c>ssh-keygen</c> makes keys, <c>ssh-keyscan</c> does the handshake
/// check (a real SSH key exchange with the environment's sshd through its NodePort).</summary>
internal static class SshTools
{
    public static async Task<HostKeyPair> GenerateAsync(string comment, CancellationToken cancellationToken)
    {
        var dir = Directory.CreateTempSubdirectory("gpu-dev-key-");
        try
        {
            var file = Path.Combine(dir.FullName, "key");
            var (code, _, error) = await RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file], TimeSpan.FromSeconds(10), cancellationToken);
            if (code != 0)
            {
                throw new InvalidOperationException($"ssh-keygen failed ({code}): {error.Trim()}");
            }

            var publicKey = string.Join(' ', (await File.ReadAllTextAsync(file + ".pub", cancellationToken)).Trim().Split(' ').Take(2));
            return new HostKeyPair(await File.ReadAllTextAsync(file, cancellationToken), publicKey);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>True when an SSH server at host:port presents exactly <paramref name="publicKey"/> (type and key) in a key exchange.</summary>
    public static async Task<bool> HandshakeAsync(string host, int port, string publicKey, CancellationToken cancellationToken)
    {
        var (code, output, _) = await RunAsync("ssh-keyscan", ["-T", "3", "-t", "ed25519", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), host],
            TimeSpan.FromSeconds(5), cancellationToken);
        if (code != 0)
        {
            return false;
        }

        var wanted = publicKey.Trim();
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => !line.StartsWith('#'))
            .Select(line => line.Split(' ', 2))
            .Any(parts => parts.Length == 2 && parts[1].Trim() == wanted);
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(string file, IReadOnlyList<string> args, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start");
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        var output = process.StandardOutput.ReadToEndAsync(cts.Token);
        var error = process.StandardError.ReadToEndAsync(cts.Token);
        try
        {
            await process.WaitForExitAsync(cts.Token);
            return (process.ExitCode, await output, await error);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            return (-1, "", $"{file} timed out after {timeout.TotalSeconds:0} s");
        }
    }
}
