using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using GpuDev.Contracts;
using GpuDev.Testing.Oidc;

namespace GpuDev.EndToEnd.Tests;

/// <summary>Issue 16 as a new user meets it: a fresh server trusting the site's OpenID provider (a real one,
/// oidc-provider), the real CLI signs a new user in with the device flow, who adds their key and reserves with no admin
/// step, ssh works; revoking the token makes the next call say "log in again"; an admin disables the user from their own
/// CLI and the user's next call is refused; a forged sign-in is refused and shows in the audit log.</summary>
public sealed class SignInTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Login_KeysAdd_Reserve_NoAdminStep_Revoke_Disable_ForgedRefusedAndAudited()
    {
        await using var oidc = await OidcTestProvider.StartAsync();
        await using var server = await ServerProcess.StartAsync("h100:8", environment: new Dictionary<string, string>
        {
            ["GPUDEV_AUTH__OIDC__AUTHORITY"] = oidc.Issuer,
            ["GPUDEV_AUTH__OIDC__REQUIREHTTPS"] = "false",
            ["GPUDEV_AUTH__OIDC__SCOPES"] = OidcTestProvider.DefaultScope,
        });
        var work = Directory.CreateTempSubdirectory("gpu-dev-e2e-signin-").FullName;
        var home = Path.Combine(work, "home");
        var environment = new Dictionary<string, string>
        {
            ["HOME"] = home,
            ["GPU_DEV_SERVER"] = server.Url,
            ["GPU_DEV_CONFIG_DIR"] = Path.Combine(work, "config"),
            ["NO_COLOR"] = "1",
        };
        try
        {
            Directory.CreateDirectory(Path.Combine(home, ".ssh"));
            var key = Path.Combine(home, ".ssh", "id_ed25519");
            E2e.Check(await Proc.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f", key]));

            var login = await LoginAsync(environment, code => oidc.CompleteDeviceLoginAsync(code, "u-alice"));
            Assert.True(login.ExitCode == 0, login.Stderr);
            Assert.Contains("alice", login.Stdout + login.Stderr, StringComparison.Ordinal);

            E2e.Check(await Run(environment, "keys", "add", key + ".pub"));
            var reserved = E2e.Check(await Run(environment, "reserve", "-t", "h100", "-g", "1", "-h", "1", "--no-interactive", "--json"));
            var reservation = JsonSerializer.Deserialize(reserved.Stdout, GpuDevJsonContext.Default.ReservationDto)!;
            Assert.Equal(("active", "alice"), (reservation.Status, reservation.User));
            var (gpus, _, _) = await E2e.SshProbeAsync(reservation, key);
            Assert.Single(gpus);

            var tokens = JsonSerializer.Deserialize(E2e.Check(await Run(environment, "token", "list", "--json")).Stdout, GpuDevJsonContext.Default.ListTokenDto)!;
            var current = Assert.Single(tokens, t => t.Current);
            Assert.Equal("session", current.Kind);
            E2e.Check(await Run(environment, "token", "revoke", current.Id[..8]));
            var refused = await Run(environment, "list");
            Assert.NotEqual(0, refused.ExitCode);
            Assert.Contains("log in again", refused.Stderr, StringComparison.Ordinal);

            // An admin (bootstrapped on the server host, the one admin step a site has) disables alice from their laptop.
            var rootToken = E2e.Check(await Proc.RunAsync(ServerProcess.Bin("gpu-dev-server"), ["user", "add", "root", "--admin", "--data-dir", server.DataDir])).Stdout.Trim();
            var admin = new E2e.Cli(server.Url, rootToken, Path.Combine(work, "admin-config"));
            Assert.Equal(0, (await LoginAsync(environment, code => oidc.CompleteDeviceLoginAsync(code, "u-alice"))).ExitCode);
            E2e.Check(await Run(environment, "list"));
            var disabled = E2e.Check(await admin.RunAsync("admin", "user", "disable", "alice"));
            Assert.Contains(reservation.Id[..8], disabled.Stdout + disabled.Stderr, StringComparison.Ordinal);
            var clock = Stopwatch.StartNew();
            var afterDisable = await Run(environment, "list");
            Assert.NotEqual(0, afterDisable.ExitCode);
            Assert.Contains("disabled", afterDisable.Stderr, StringComparison.Ordinal);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the refused call itself hung");

            using var http = new HttpClient();
            var forged = await http.PostAsJsonAsync($"{server.Url}{Routes.AuthOidc}", new OidcLoginRequest("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", null), GpuDevJsonContext.Default.OidcLoginRequest);
            Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
            var audit = JsonSerializer.Deserialize(E2e.Check(await admin.RunAsync("admin", "audit", "--action", "POST /api/v1/auth/oidc", "--json")).Stdout,
                GpuDevJsonContext.Default.ListAuditEntryDto)!;
            Assert.Contains(audit, e => e is { Outcome: 401, Actor: "anonymous" });
            Assert.Equal(2, audit.Count(e => e is { Outcome: 200, Actor: "alice" }));

            E2e.Check(await admin.RunAsync("cancel", reservation.Id, "--yes"));
            await E2e.WaitNoContainersAsync(reservation.Id);
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"{e.Message}\n--- server log ---\n{server.Log}\n--- provider log ---\n{oidc.Log}", e);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static Task<Proc.Result> Run(Dictionary<string, string> environment, params string[] args) =>
        Proc.RunAsync(ServerProcess.Bin("gpu-dev"), args, environment);

    /// <summary>Runs <c>gpu-dev login --no-browser</c>, waits for the code it prints and hands it to the user's side.</summary>
    private static async Task<Proc.Result> LoginAsync(Dictionary<string, string> environment, Func<string, Task> signIn)
    {
        var info = new ProcessStartInfo(ServerProcess.Bin("gpu-dev"), ["login", "--no-browser"]);
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        foreach (var name in new[] { "GPU_DEV_TOKEN", "DISPLAY", "WAYLAND_DISPLAY", "CI" })
        {
            info.Environment.Remove(name);
        }

        var result = await DeviceLoginProcess.RunAsync(info, signIn, s_timeout);
        return new Proc.Result(result.ExitCode, result.Stdout, result.Stderr);
    }
}
