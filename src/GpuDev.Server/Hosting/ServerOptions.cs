namespace GpuDev.Server.Hosting;

/// <summary>Section "Server".</summary>
public sealed class ServerOptions
{
    public const string Section = "Server";

    /// <summary>Where the SQLite file and local state live.</summary>
    public string DataDir { get; set; } = DefaultDataDir();

    /// <summary>Where a user's GitHub public keys are fetched; <c>{user}</c> is replaced by the GitHub login.</summary>
    public string KeysUrl { get; set; } = "https://github.com/{user}.keys";

    /// <summary>How long a reservation may stay preparing before it fails.</summary>
    public TimeSpan PrepareTimeout { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long a request may wait in the queue before it is cancelled.</summary>
    public TimeSpan QueueTimeout { get; set; } = TimeSpan.FromHours(48);

    /// <summary>Grace after the end time before an active reservation is expired.</summary>
    public TimeSpan ExpiryGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the workers look for work when nothing wakes them.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a claimed job is leased before another worker may take it.</summary>
    public TimeSpan JobLease { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>With several replicas on one store: how soon after the replica running the scheduler or lifecycle
    /// worker dies another one takes over (the lease is written for 2/3 of it and renewed every 1/6).</summary>
    public TimeSpan LeaderLease { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Attempts of a provisioning job before the reservation fails.</summary>
    public int MaxProvisionAttempts { get; set; } = 3;

    public static string DefaultDataDir()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        var baseDir = string.IsNullOrEmpty(xdg) ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share") : xdg;
        return Path.Combine(baseDir, "gpu-dev");
    }
}
