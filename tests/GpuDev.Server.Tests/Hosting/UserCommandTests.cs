using GpuDev.Core.Storage;
using GpuDev.Server.Hosting;
using GpuDev.Server.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace GpuDev.Server.Tests.Hosting;

/// <summary><c>gpu-dev-server user add</c> chooses its store through <see cref="StoreRegistration"/>, as the server does.</summary>
public sealed class UserCommandTests
{
    [Fact]
    public async Task RunAsync_AddOnSqlite_UserIsWhereTheServersRegistrationReads()
    {
        var dataDir = Directory.CreateTempSubdirectory("gpu-dev-useradd-").FullName;
        try
        {
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            using var againErr = new StringWriter();

            var exit = await UserCommand.RunAsync(["add", "alice", "--admin", "--data-dir", dataDir, "--store", "sqlite"], stdout, stderr);
            var again = await UserCommand.RunAsync(["add", "alice", "--data-dir", dataDir, "--store", "sqlite"], TextWriter.Null, againErr);

            Assert.Equal((0, ""), (exit, stderr.ToString()));
            Assert.Equal(1, again);
            Assert.Equal("error: user 'alice' already exists", againErr.ToString().Trim());
            var services = new ServiceCollection().AddSingleton(TimeProvider.System);
            StoreRegistration.Add(services, new StoreChoice(StoreChoice.Sqlite, null), dataDir);
            await using var provider = services.BuildServiceProvider();
            var match = await provider.GetRequiredService<GpuDev.Core.Identity.IIdentityStore>().FindTokenAsync(Tokens.Hash(stdout.ToString().Trim()), CancellationToken.None);
            Assert.Equal(("alice", true, "initial"), (match?.User.Name, match?.User.IsAdmin ?? false, match?.Token.Name));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Theory]
    [InlineData("mysql", null, "error: --store 'mysql' is not available; valid: sqlite, postgres")]
    [InlineData("postgres", "", "error: --postgres CONNECTION-STRING (or GPUDEV_STORAGE__POSTGRES) is required with --store postgres")]
    public async Task RunAsync_UnusableStore_RefusedWithTheValidChoices(string store, string? postgres, string expected)
    {
        using var stderr = new StringWriter();
        string[] args = ["add", "alice", "--store", store, .. postgres is null ? Array.Empty<string>() : ["--postgres", postgres]];

        var exit = await UserCommand.RunAsync(args, TextWriter.Null, stderr);

        Assert.Equal((1, expected), (exit, stderr.ToString().Trim()));
    }
}
