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

    /// <summary>Failed authentications one remote address may make per <see cref="AuthFailureWindow"/> before it gets 429.</summary>
    public int AuthFailureLimit { get; set; } = 10;

    /// <summary>The window of <see cref="AuthFailureLimit"/>.</summary>
    public TimeSpan AuthFailureWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Reverse proxies (addresses or CIDR networks) whose <c>X-Forwarded-For</c> is believed: a request from one of
    /// them counts (for the audit log and the failed-authentication limit) as coming from the address it forwards. Empty:
    /// forwarded headers are ignored.</summary>
    public List<string> TrustedProxies { get; set; } = [];

    internal IReadOnlyList<System.Net.IPNetwork> TrustedProxyNetworks() => [.. TrustedProxies.Where(a => !string.IsNullOrWhiteSpace(a)).Select(a =>
        a.Contains('/', StringComparison.Ordinal)
            ? System.Net.IPNetwork.Parse(a.Trim())
            : new System.Net.IPNetwork(System.Net.IPAddress.Parse(a.Trim()), System.Net.IPAddress.Parse(a.Trim()).GetAddressBytes().Length * 8))];

    /// <summary>Test only: must be true for <see cref="CrashAt"/> to be accepted (so it cannot be set by accident).
    /// Also lets <see cref="ExpiryGrace"/> be negative, so a test can expire a 5-minute reservation at once.</summary>
    public bool EnableFaultInjection { get; set; }

    /// <summary>Test only: a step of <see cref="Faults.CrashSteps"/> where the server kills itself (SIGKILL).</summary>
    public string? CrashAt { get; set; }

    public static string DefaultDataDir()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        var baseDir = string.IsNullOrEmpty(xdg) ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share") : xdg;
        return Path.Combine(baseDir, "gpu-dev");
    }
}
