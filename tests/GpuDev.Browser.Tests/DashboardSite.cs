using System.Text.Json;
using System.Text.RegularExpressions;
using GpuDev.Contracts;
using GpuDev.EndToEnd.Tests;
using Microsoft.Playwright;

namespace GpuDev.Browser.Tests;

/// <summary>The real <c>bin/gpu-dev-server</c> on simulated GPUs (two h100 nodes of 8, one t4 node of 4; reservations are
/// podman containers of the local provider) with users added by <c>gpu-dev-server user add</c>, and signing in to its dashboard.</summary>
internal sealed class DashboardSite : IAsyncDisposable
{
    private readonly string _work;

    private DashboardSite(ServerProcess server, string work)
    {
        Server = server;
        _work = work;
    }

    public ServerProcess Server { get; }

    public string Url => Server.Url;

    /// <summary>The site; <paramref name="environment"/> configures the server (<c>GPUDEV_…</c>), <paramref name="port"/> is where it listens.</summary>
    public static async Task<DashboardSite> StartAsync(IReadOnlyDictionary<string, string>? environment = null, int? port = null) =>
        new(await ServerProcess.StartAsync("h100:8,h100:8,t4:4", environment: environment, port: port), Directory.CreateTempSubdirectory("gpu-dev-browser-").FullName);

    /// <summary>A user with an ssh key, its API token (what the sign-in page takes) and the real CLI as that user.</summary>
    public async Task<User> AddUserAsync(string name)
    {
        var key = Path.Combine(_work, name);
        E2e.Check(await Proc.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]));
        var token = E2e.Check(await Proc.RunAsync(ServerProcess.Bin("gpu-dev-server"), ["user", "add", name, "--ssh-key", key + ".pub", "--data-dir", Server.DataDir])).Stdout.Trim();
        return new User(name, token, new E2e.Cli(Url, token, Path.Combine(_work, name + "-config")));
    }

    /// <summary>Reserves through the CLI for <paramref name="hours"/>; <paramref name="wait"/>: until active (a container
    /// runs), else as soon as it is created; <paramref name="distributed"/>: a multinode reservation (<c>-d</c>, whole nodes).</summary>
    public static async Task<ReservationDto> ReserveAsync(User user, string gpuType, int gpus, string name, bool wait = true, double hours = 1,
        bool distributed = false)
    {
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        string[] args = ["reserve", "-t", gpuType, "-g", gpus.ToString(culture), "-h", hours.ToString(culture), "-n", name, "--no-interactive", "--json"];
        var result = E2e.Check(await user.Cli.RunAsync([.. args, .. distributed ? ["-d"] : Array.Empty<string>(), .. wait ? Array.Empty<string>() : ["--no-wait"]]));
        return JsonSerializer.Deserialize(result.Stdout, GpuDevJsonContext.Default.ReservationDto)!;
    }

    /// <summary><c>gpu-dev show ID --json</c> as <paramref name="user"/>.</summary>
    public static async Task<ReservationDto> ShowAsync(User user, string id) =>
        JsonSerializer.Deserialize(E2e.Check(await user.Cli.RunAsync("show", id, "--json")).Stdout, GpuDevJsonContext.Default.ReservationDto)!;

    /// <summary>Signs in on the sign-in page with the user's token and waits to land on <c>/ui</c>.</summary>
    public async Task SignInAsync(IPage page, User user)
    {
        await page.GotoAsync($"{Url}/ui/signin");
        await page.Locator("#token").FillAsync(user.Token);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("^" + Regex.Escape(Url) + "/ui/?$"));
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync(); // removes any container a test left behind
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public sealed record User(string Name, string Token, E2e.Cli Cli);
}
