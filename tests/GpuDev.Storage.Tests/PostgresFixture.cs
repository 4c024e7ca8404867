using GpuDev.Testing.Postgres;

[assembly: AssemblyFixture(typeof(GpuDev.Storage.Tests.PostgresFixture))]

namespace GpuDev.Storage.Tests;

/// <summary>One throwaway PostgreSQL cluster for the whole test process; each test gets its own database.
/// Where the cluster cannot start, <see cref="Unavailable"/> says why and the PostgreSQL tests fail with it
/// (or skip, with <c>GPUDEV_TESTS_NO_POSTGRES=1</c>); the SQLite tests run either way.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    public TempPostgres? Cluster { get; private set; }

    public string? Unavailable { get; private set; }

    public async ValueTask InitializeAsync()
    {
        Unavailable = TempPostgres.WhyUnavailable();
        if (Unavailable is not null)
        {
            return;
        }

        try
        {
            Cluster = await TempPostgres.StartAsync();
        }
        catch (InvalidOperationException e)
        {
            Unavailable = $"the PostgreSQL test cluster did not start: {e.Message}";
        }
    }

    /// <summary>A new database, or the test ends here: failed with the reason, or skipped when opted out.</summary>
    public async Task<string> NewDatabaseAsync()
    {
        if (Unavailable is { } reason)
        {
            if (Environment.GetEnvironmentVariable(TempPostgres.OptOutVariable) == "1")
            {
                TestSkips.Skip($"{reason} ({TempPostgres.OptOutVariable}=1)");
            }

            Assert.Fail($"{reason}. Set {TempPostgres.OptOutVariable}=1 to skip the PostgreSQL tests instead.");
        }

        return await Cluster!.CreateDatabaseAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
        }
    }
}
