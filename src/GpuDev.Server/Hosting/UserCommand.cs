using GpuDev.Core.Identity;
using GpuDev.Core.Storage;
using GpuDev.Server.Identity;

namespace GpuDev.Server.Hosting;

/// <summary><c>gpu-dev-server user add NAME [--github GH] [--ssh-key FILE]... [--admin] [--data-dir DIR] [--store sqlite|postgres] [--postgres CS]</c>:
/// writes the user straight into the store (works while the server runs) and prints only the token.</summary>
internal static class UserCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args is not ["add", var name, .. var rest])
        {
            await stderr.WriteLineAsync("error: usage: gpu-dev-server user add NAME [--github GH] [--ssh-key FILE]... [--admin] [--data-dir DIR] [--store sqlite|postgres] [--postgres CONNECTION-STRING]");
            return 1;
        }

        string? github = null;
        string? dataDir = Environment.GetEnvironmentVariable("GPUDEV_SERVER__DATADIR");
        string storeKind = Environment.GetEnvironmentVariable("GPUDEV_STORAGE__PROVIDER") is { Length: > 0 } kind ? kind : "sqlite";
        string? postgres = Environment.GetEnvironmentVariable("GPUDEV_STORAGE__POSTGRES");
        var admin = false;
        var keys = new List<string>();
        for (var i = 0; i < rest.Length; i++)
        {
            var value = i + 1 < rest.Length ? rest[i + 1] : null;
            switch (rest[i])
            {
                case "--admin":
                    admin = true;
                    continue;
                case "--github" when value is not null:
                    github = value;
                    break;
                case "--data-dir" when value is not null:
                    dataDir = value;
                    break;
                case "--store" when value is not null:
                    storeKind = value;
                    break;
                case "--postgres" when value is not null:
                    postgres = value;
                    break;
                case "--ssh-key" when value is not null:
                    if (!File.Exists(value))
                    {
                        await stderr.WriteLineAsync($"error: --ssh-key: no such file '{value}'");
                        return 1;
                    }

                    var text = await File.ReadAllTextAsync(value);
                    var parsed = SshPublicKey.ParseMany(text);
                    if (parsed.Count == 0)
                    {
                        await stderr.WriteLineAsync($"error: --ssh-key: '{value}' holds no OpenSSH public key (a line 'ssh-ed25519 AAAA... comment'; key options are not accepted)");
                        return 1;
                    }

                    keys.AddRange(parsed);
                    break;
                default:
                    await stderr.WriteLineAsync($"error: unknown or incomplete option '{rest[i]}'; valid: --github GH, --ssh-key FILE, --admin, --data-dir DIR, --store sqlite|postgres, --postgres CONNECTION-STRING");
                    return 1;
            }

            i++;
        }

        if (!UserNames.IsValid(name))
        {
            await stderr.WriteLineAsync($"error: invalid user name '{name}': {UserNames.Rule}");
            return 1;
        }

        if (github is not null && !UserNames.IsValidGithub(github))
        {
            await stderr.WriteLineAsync($"error: invalid GitHub user '{github}': 1-39 letters, digits or single hyphens");
            return 1;
        }

        var choice = new StoreChoice(storeKind, postgres);
        if (!choice.IsKnown)
        {
            await stderr.WriteLineAsync($"error: --store '{storeKind}' is not available; valid: {string.Join(", ", StoreChoice.Providers)}");
            return 1;
        }

        if (choice.LacksConnectionString)
        {
            await stderr.WriteLineAsync("error: --postgres CONNECTION-STRING (or GPUDEV_STORAGE__POSTGRES) is required with --store postgres");
            return 1;
        }

        if (await StoreRegistration.CheckConnectionAsync(choice, CancellationToken.None) is { } unreachable)
        {
            await stderr.WriteLineAsync($"error: --postgres: {unreachable}");
            return 1;
        }

        // The server's own registration, so the tool writes exactly where the server reads.
        var services = new ServiceCollection().AddSingleton(TimeProvider.System);
        StoreRegistration.Add(services, choice, string.IsNullOrEmpty(dataDir) ? ServerOptions.DefaultDataDir() : dataDir);
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IReservationStore>();
        await store.InitializeAsync(CancellationToken.None);
        if (await store.FindUserByNameAsync(name, CancellationToken.None) is not null)
        {
            await stderr.WriteLineAsync($"error: user '{name}' already exists");
            return 1;
        }

        var token = Tokens.Generate();
        await store.AddUserAsync(name, github, admin, Tokens.Hash(token), keys, CancellationToken.None);
        await stdout.WriteLineAsync(token);
        return 0;
    }
}
