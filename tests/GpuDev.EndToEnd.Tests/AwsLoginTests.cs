using System.Diagnostics;
using System.Text.Json;
using GpuDev.Contracts;
using GpuDev.Testing.Aws;

namespace GpuDev.EndToEnd.Tests;

/// <summary><c>gpu-dev login --aws</c> with the shipped binaries: the NativeAOT <c>bin/gpu-dev</c> (the AWS SDK's credential
/// chain and signer compiled ahead of time) against the real <c>bin/gpu-dev-server</c> with AWS sign-in, whose STS is
/// <see cref="FakeSts"/>, verifying Signature V4 independently of the SDK. The saved token then works.</summary>
public sealed class AwsLoginTests : IDisposable
{
    private const string Account = "111122223333";

    private readonly string _temp = Directory.CreateTempSubdirectory("gpu-dev-e2e-aws-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_temp, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task LoginAws_AotCli_RealServer_FakeSts_SignsInAndTheTokenWorks()
    {
        using var sts = new FakeSts().WithKey("ASIAE2ETEST000000001", "e2e-secret", $"arn:aws:sts::{Account}:assumed-role/GpuAdmins/alice");
        await using var server = await ServerProcess.StartAsync("h100:8", environment: new Dictionary<string, string>
        {
            ["GPUDEV_AUTH__AWS__ENABLED"] = "true",
            ["GPUDEV_AUTH__AWS__STSENDPOINT"] = sts.Endpoint,
            ["GPUDEV_AUTH__AWS__ALLOWEDACCOUNTS__0"] = Account,
            ["GPUDEV_AUTH__AWS__ADMINROLES__0"] = "GpuAdmins",
            ["GPUDEV_AUTH__AWS__SERVERID"] = "e2e-server",
        });

        var login = await RunCliAsync(server, ["login", "--aws"], new()
        {
            ["AWS_ACCESS_KEY_ID"] = "ASIAE2ETEST000000001", ["AWS_SECRET_ACCESS_KEY"] = "e2e-secret", ["AWS_SESSION_TOKEN"] = "e2e-session-token",
        });

        Assert.True(login.ExitCode == 0, $"exit {login.ExitCode}\n{login.Stderr}\n{server.Log}");
        Assert.StartsWith("Signed in as alice (admin) — token expires ", login.Stdout, StringComparison.Ordinal);
        Assert.Equal(1, sts.Requests);

        // The saved session token is the CLI's credential from now on (no GPU_DEV_TOKEN): it lists itself.
        var tokens = await RunCliAsync(server, ["token", "list", "--json"], []);
        Assert.True(tokens.ExitCode == 0, $"exit {tokens.ExitCode}\n{tokens.Stderr}");
        var current = Assert.Single(JsonSerializer.Deserialize(tokens.Stdout, GpuDevJsonContext.Default.ListTokenDto)!, t => t.Current);
        Assert.Equal("session", current.Kind);
        Assert.StartsWith("login ", current.Name, StringComparison.Ordinal);

        // The same signed request is good once; a second sign-in signs anew and is taken.
        Assert.Equal(0, (await RunCliAsync(server, ["login", "--aws"], new() { ["AWS_ACCESS_KEY_ID"] = "ASIAE2ETEST000000001", ["AWS_SECRET_ACCESS_KEY"] = "e2e-secret" })).ExitCode);

        var unknown = await RunCliAsync(server, ["login", "--aws"], new() { ["AWS_ACCESS_KEY_ID"] = "AKIAUNKNOWN000000000", ["AWS_SECRET_ACCESS_KEY"] = "x" });
        Assert.Equal(4, unknown.ExitCode);
        Assert.StartsWith("error: the server refused the sign-in: AWS did not accept the signed request: InvalidClientTokenId", unknown.Stderr, StringComparison.Ordinal);
    }

    /// <summary>bin/gpu-dev with a fresh HOME and config directory, only the given AWS variables and no instance metadata.</summary>
    private async Task<Proc.Result> RunCliAsync(ServerProcess server, string[] args, Dictionary<string, string> aws)
    {
        var info = new ProcessStartInfo(ServerProcess.Bin("gpu-dev"), args) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("AWS_", StringComparison.OrdinalIgnoreCase) || k.StartsWith("GPU_DEV_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(name);
        }

        info.Environment["HOME"] = Directory.CreateDirectory(Path.Combine(_temp, "home")).FullName;
        info.Environment["GPU_DEV_CONFIG_DIR"] = Path.Combine(_temp, "config");
        info.Environment["GPU_DEV_SERVER"] = server.Url;
        info.Environment["NO_COLOR"] = "1";
        info.Environment["AWS_EC2_METADATA_DISABLED"] = "true";
        foreach (var (name, value) in aws)
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return new Proc.Result(process.ExitCode, await stdout, await stderr);
    }
}
