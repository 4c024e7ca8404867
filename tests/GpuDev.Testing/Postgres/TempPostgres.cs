using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace GpuDev.Testing.Postgres;

/// <summary>A throwaway PostgreSQL cluster: <c>initdb</c> (as the <c>postgres</c> OS user) into a fresh directory under
/// <c>/var/tmp/gpu-dev-pg-*</c>, started with <c>pg_ctl</c> on a free port with its own socket directory and
/// <c>fsync=off</c>; stopped and removed on dispose. Needs root and the PostgreSQL server binaries
/// (<c>/usr/lib/postgresql/*/bin</c>, Debian package <c>postgresql</c>).</summary>
public sealed class TempPostgres : IAsyncDisposable
{
    /// <summary>Set to 1 to skip (instead of fail) the PostgreSQL tests where PostgreSQL cannot run.</summary>
    public const string OptOutVariable = "GPUDEV_TESTS_NO_POSTGRES";

    private readonly string _bin;
    private readonly string _root;
    private int _databases;

    private TempPostgres(string bin, string root, int port)
    {
        _bin = bin;
        _root = root;
        Port = port;
    }

    public int Port { get; }

    /// <summary>Superuser connection string to the <c>postgres</c> database.</summary>
    public string AdminConnectionString => ConnectionString("postgres");

    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = Port, Username = "postgres", Database = database, Pooling = true, MaxPoolSize = 50 }.ConnectionString;

    /// <summary>Why a cluster cannot be started here, or null when it can.</summary>
    public static string? WhyUnavailable()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "PostgreSQL tests need Linux";
        }

        if (!Environment.IsPrivilegedProcess)
        {
            return "PostgreSQL tests need root (initdb runs as the 'postgres' OS user via runuser)";
        }

        if (FindBin() is null)
        {
            return "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (apt-get install -y postgresql)";
        }

        return null;
    }

    public static async Task<TempPostgres> StartAsync()
    {
        if (WhyUnavailable() is { } reason)
        {
            throw new InvalidOperationException(reason);
        }

        var bin = FindBin()!;
        var root = Path.Combine("/var/tmp", $"gpu-dev-pg-{Guid.NewGuid():N}"[..23]);
        Directory.CreateDirectory(root);
        var port = FreePort();
        var cluster = new TempPostgres(bin, root, port);
        try
        {
            await RunAsync("chown", ["postgres:postgres", root]);
            await RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(bin, "initdb"), "-D", Path.Combine(root, "data"), "-U", "postgres",
                "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"]);
            await RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(bin, "pg_ctl"), "-D", Path.Combine(root, "data"), "-l", Path.Combine(root, "log"), "-w", "-t", "60",
                "-o", $"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400", "start"]);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        return cluster;
    }

    /// <summary>A new, empty database.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "t")
    {
        var name = $"{prefix}_{Interlocked.Increment(ref _databases)}_{Guid.NewGuid():N}".ToLowerInvariant();
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\" TEMPLATE template0;", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        var data = Path.Combine(_root, "data");
        if (Directory.Exists(Path.Combine(data, "base")))
        {
            try
            {
                await RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(_bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"]);
            }
            catch (InvalidOperationException)
            {
                // Not running: nothing to stop.
            }
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string? FindBin() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(b => File.Exists(Path.Combine(b, "initdb")) && File.Exists(Path.Combine(b, "pg_ctl")))
                .OrderByDescending(b => int.TryParse(Path.GetFileName(Path.GetDirectoryName(b)), out var v) ? v : 0)
                .FirstOrDefault()
            : null;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task RunAsync(string file, IReadOnlyList<string> args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/" };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {await stderr}{await stdout}");
        }
    }
}
