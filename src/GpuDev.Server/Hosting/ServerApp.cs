using GpuDev.Compute.Kubernetes;
using GpuDev.Compute.LocalHost;
using GpuDev.Contracts;
using GpuDev.Core.Catalog;
using GpuDev.Core.Identity;
using GpuDev.Server.Api;
using GpuDev.Server.Audit;
using GpuDev.Server.Disks;
using GpuDev.Server.Health;
using GpuDev.Server.Identity;
using GpuDev.Server.Observability;
using GpuDev.Server.Processing;
using GpuDev.Server.Reservations;
using GpuDev.Server.Ui;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace GpuDev.Server.Hosting;

/// <summary>The composition root: configuration, provider choice, API and workers.</summary>
public static class ServerApp
{
    public const string DefaultUrl = "http://127.0.0.1:8484";

    /// <summary>Command-line switches of <c>gpu-dev-server run</c> and the configuration keys they set.</summary>
    public static readonly IReadOnlyDictionary<string, string> Switches = new Dictionary<string, string>
    {
        ["--data-dir"] = "Server:DataDir",
        ["--keys-url"] = "Server:KeysUrl",
        ["--provider"] = "Compute:Provider",
        ["--store"] = "Storage:Provider",
        ["--postgres"] = "Storage:Postgres",
        ["--local-gpus"] = "LocalHost:Gpus",
        ["--image"] = "LocalHost:DefaultImage",
        ["--kubeconfig"] = "Kubernetes:Kubeconfig",
        ["--namespace"] = "Kubernetes:Namespace",
        ["--urls"] = "urls",
        ["--log-format"] = LogFormatKey,
    };

    /// <summary>Console log format: <c>simple</c> (the default, human-readable) or <c>json</c> (one JSON object a line).</summary>
    public const string LogFormatKey = "Logging:Format";

    private static readonly string[] s_logFormats = ["simple", "json"];

    /// <summary>Log levels when neither appsettings.json nor the environment says otherwise: gpu-dev's own categories
    /// (reservation placed, active, ended, ...) at Information; ASP.NET Core's per-request lines at Warning (a failed request
    /// gets one line from <see cref="RequestLogMiddleware"/>).</summary>
    private static readonly Dictionary<string, string?> s_loggingDefaults = new()
    {
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Warning",
    };

    public static WebApplication Build(string[] args) => Build(args, Path.Combine(AppContext.BaseDirectory, "appsettings.json"));

    /// <param name="args">The command line of <c>gpu-dev-server run</c>.</param>
    /// <param name="besideBinary">The appsettings.json next to the executable, read whatever the working directory (the
    /// content root, whose appsettings.json is read too); null for none.</param>
    internal static WebApplication Build(string[] args, string? besideBinary)
    {
        var builder = WebApplication.CreateBuilder(args);

        // Lowest precedence first: the logging defaults, appsettings.json next to the binary, then what CreateBuilder
        // reads (the content root's appsettings.json, the environment, the command line), then ours.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = s_loggingDefaults });
        if (besideBinary is not null)
        {
            var source = new JsonConfigurationSource { Path = besideBinary, Optional = true };
            source.ResolveFileProvider();
            builder.Configuration.Sources.Insert(1, source);
        }

        builder.Configuration.AddEnvironmentVariables("GPUDEV_");
        builder.Configuration.AddCommandLine(args, Switches.ToDictionary(p => p.Key, p => p.Value));
        if (string.IsNullOrEmpty(builder.Configuration["urls"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 1024 * 1024);
        ConfigureServices(builder.Services, builder.Configuration);
        if (LogFormat(builder.Configuration) == "json")
        {
            builder.Logging.AddJsonConsole(o =>
            {
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.UseUtcTimestamp = true;
            });
        }

        var app = builder.Build();
        Configure(app);
        return app;
    }

    private static void ConfigureServices(IServiceCollection services, IConfiguration configuration)
    {
        var errors = new List<string>();
        var compute = configuration["Compute:Provider"] ?? "local";
        var store = new StoreChoice(configuration["Storage:Provider"] ?? StoreChoice.Sqlite, configuration["Storage:Postgres"]);
        if (compute is not ("local" or "kubernetes"))
        {
            errors.Add($"Compute:Provider (--provider) '{compute}' is not valid; valid: local, kubernetes.");
        }

        if (!s_logFormats.Contains(LogFormat(configuration), StringComparer.Ordinal))
        {
            errors.Add($"{LogFormatKey} (--log-format) '{configuration[LogFormatKey]}' is not valid; valid: {string.Join(", ", s_logFormats)}.");
        }

        if (!store.IsKnown)
        {
            errors.Add($"Storage:Provider (--store) '{store.Provider}' is not available; valid: {string.Join(", ", StoreChoice.Providers)}.");
        }
        else if (store.LacksConnectionString)
        {
            errors.Add("Storage:Postgres (--postgres) is required with --store postgres: a connection string such as 'Host=db;Database=gpudev;Username=gpudev;Password=...' (or GPUDEV_STORAGE__POSTGRES).");
        }
        else if (errors.Count == 0
            && StoreRegistration.CheckConnectionAsync(store, CancellationToken.None).GetAwaiter().GetResult() is { } unreachable)
        {
            errors.Add($"Storage:Postgres (--postgres): {unreachable}");
        }

        if (errors.Count > 0)
        {
            throw new OptionsValidationException("Providers", typeof(ServerOptions), errors);
        }

        services.AddSingleton(TimeProvider.System);
        services.AddOptions<ServerOptions>().BindConfiguration(ServerOptions.Section).ValidateOnStart();
        services.AddOptions<DiskOptions>().BindConfiguration(DiskOptions.Section)
            .Validate(o => o.QuotaBytes > 0, "Disks:QuotaBytes must be a positive number of bytes (e.g. 107374182400 for 100 GiB).")
            .Validate(o => o.PurgeAfter > TimeSpan.Zero, "Disks:PurgeAfter must be a positive time span (e.g. 30.00:00:00): how long a deleted disk's snapshots are kept.")
            .Validate(o => o.KeepSnapshots >= 1, "Disks:KeepSnapshots must be at least 1.")
            .ValidateOnStart();
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section)
            .Validate(o => o.SessionLifetime >= TimeSpan.FromMinutes(5) && o.SessionLifetime <= TimeSpan.FromDays(365), "Auth:SessionLifetime must be between 00:05:00 and 365.00:00:00 (e.g. 7.00:00:00).")
            .Validate(o => !o.Oidc.Enabled || Uri.TryCreate(o.Oidc.Authority, UriKind.Absolute, out var u) && (u.Scheme == "https" || (!o.Oidc.RequireHttps && u.Scheme == "http")),
                "Auth:Oidc:Authority must be an absolute https URL (http only with Auth:Oidc:RequireHttps=false), the provider's issuer.")
            .Validate(o => !string.IsNullOrWhiteSpace(o.Oidc.ClientId), "Auth:Oidc:ClientId must name the provider's public client for the CLI.")
            .Validate(o => !o.Aws.Enabled || o.Aws.AllowedAccounts.Count > 0, "Auth:Aws:AllowedAccounts must list the AWS account ids (12 digits) whose principals may sign in when Auth:Aws:Enabled is true.")
            .Validate(o => !o.Aws.Enabled || Uri.TryCreate(o.Aws.StsEndpoint, UriKind.Absolute, out _), "Auth:Aws:StsEndpoint must be an absolute URL (e.g. https://sts.us-east-1.amazonaws.com/).")
            .Validate(o => o.Oidc.Algorithms.Count > 0 && o.Oidc.Algorithms.All(a => a is "RS256" or "RS384" or "RS512" or "PS256" or "PS384" or "PS512" or "ES256" or "ES384" or "ES512"),
                "Auth:Oidc:Algorithms must list asymmetric JWS algorithms only (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512).")
            .ValidateOnStart();
        services.AddOptions<QuotaOptions>().BindConfiguration(QuotaOptions.Section)
            .Validate(o => o.MaxGpusPerUser is null or >= 1 && o.MaxQueuedPerUser is null or >= 1 && o.MaxGpuHoursPerWeek is null or > 0,
                "Quotas:MaxGpusPerUser and Quotas:MaxQueuedPerUser must be whole numbers of at least 1 and Quotas:MaxGpuHoursPerWeek a positive number (or unset: no limit).")
            .ValidateOnStart();
        services.AddOptions<AuditOptions>().BindConfiguration(AuditOptions.Section)
            .Validate(o => o.RetentionDays >= 1, "Audit:RetentionDays must be at least 1.").ValidateOnStart();
        services.AddOptions<MetricsOptions>().BindConfiguration(MetricsOptions.Section)
            .Validate(o => TryNetworks(o), "Metrics:AllowFrom must list IP addresses or CIDR networks (e.g. 10.0.0.0/8).").ValidateOnStart();
        services.AddSingleton<IValidateOptions<ServerOptions>, ServerOptionsValidator>();
        var dataDir = Path.GetFullPath(configuration[$"{ServerOptions.Section}:DataDir"] is { Length: > 0 } dir ? dir : ServerOptions.DefaultDataDir());
        services.PostConfigure<ServerOptions>(o => o.DataDir = dataDir);

        var types = configuration.GetSection("GpuTypes").Get<List<GpuType>>();
        services.AddSingleton(types is { Count: > 0 } ? new GpuCatalog(types) : GpuCatalog.Default);

        StoreRegistration.Add(services, store, dataDir);

        if (compute == "kubernetes")
        {
            services.AddKubernetesCompute(configuration);
            services.PostConfigure<KubernetesOptions>(o => o.BuildTokenKeyFile = string.IsNullOrEmpty(o.BuildTokenKeyFile)
                ? Path.Combine(dataDir, "registry-token.pem") : o.BuildTokenKeyFile);
        }
        else
        {
            services.AddLocalHostCompute(configuration, dataDir);
        }

        services.AddHttpClient<ISshKeySource, HttpSshKeySource>();

        services.AddSingleton<AuthFailureLimiter>();
        services.AddSingleton<TokenCache>();
        services.AddSingleton<SchedulerSignal>();
        services.AddSingleton<JobSignal>();
        services.AddSingleton<ReservationService>();
        services.AddSingleton<Quotas>();
        services.AddSingleton<FleetView>();
        services.AddSingleton<Api.ReadCache>();
        services.AddSingleton<ScaleUpDemand>();
        services.AddSingleton<SchedulingPass>();
        services.AddSingleton<EndHistory>();
        services.AddSingleton<RecentUsage>();
        services.AddSingleton<ScheduleHandler>();
        services.AddSingleton<ProvisionHandler>();
        services.AddSingleton<TeardownHandler>();
        services.AddSingleton<WarnHandler>();
        services.AddSingleton<KeyCollector>();
        services.AddSingleton<KeyPropagation>();
        services.AddSingleton<SignInAccounts>();
        services.AddSingleton<OidcSignIn>();
        services.AddHttpClient<Ui.OidcWebSignIn>(c => c.Timeout = TimeSpan.FromSeconds(15));
        services.AddHttpClient<AwsSignIn>(c => c.Timeout = TimeSpan.FromSeconds(15));
        services.AddSingleton<AuditTrail>();
        services.AddSingleton<WorkerHeartbeats>();
        services.AddSingleton<ServerMetrics>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(ServerMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel")
            .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        // First, so it listens before any worker reaches a step; it does nothing unless fault injection is switched on.
        services.AddHostedService<Faults.CrashPoints>();
        services.AddHostedService<StartupService>();
        services.AddSingleton<WorkerLeaseKeeper>();
        services.AddHostedService(sp => sp.GetRequiredService<WorkerLeaseKeeper>());
        services.AddHostedService<SchedulerWorker>();
        services.AddHostedService<JobWorker>();
        services.AddHostedService<LifecycleWorker>();
        services.AddHostedService<EnvironmentEventWorker>();

        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, GpuDevJsonContext.Default);
            o.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict;
        });
        services.AddProblemDetails(o => o.CustomizeProblemDetails = ctx =>
        {
            var status = ctx.ProblemDetails.Status ?? ctx.HttpContext.Response.StatusCode;
            if (!ctx.ProblemDetails.Extensions.ContainsKey("code"))
            {
                var code = CodeFor(status);
                ctx.ProblemDetails.Extensions["code"] = code;
                ctx.ProblemDetails.Type = ProblemCodes.TypeUri(code);
            }

            ctx.HttpContext.Items[AuditMiddleware.DetailItem] = ctx.ProblemDetails.Detail ?? ctx.ProblemDetails.Title;
            if (ctx.Exception is BadHttpRequestException bad)
            {
                ctx.ProblemDetails.Detail = bad.Message;
            }
        });
        services.AddOpenApi();
    }

    private static void Configure(WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<ServerOptions>>().Value.TrustedProxyNetworks() is { Count: > 0 } proxies)
        {
            var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto, ForwardLimit = 1 };
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var network in proxies)
            {
                forwarded.KnownIPNetworks.Add(network);
            }

            app.UseForwardedHeaders(forwarded);
        }

        app.UseMiddleware<RequestLogMiddleware>();
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = e => e is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
        });
        app.UseStatusCodePages();
        app.UseMiddleware<AuditMiddleware>();
        app.MapOpenApi();
        app.MapHealth();
        app.UseWhen(c => c.Request.Path.StartsWithSegments(Routes.Metrics, StringComparison.Ordinal), b => b.UseMiddleware<MetricsAccessMiddleware>());
        app.MapPrometheusScrapingEndpoint(Routes.Metrics);

        // From configuration, not the options: reading them here would validate them before start-up reports what is wrong.
        if (string.Equals(app.Configuration[$"{KubernetesOptions.Section}:{nameof(KubernetesOptions.BuildRegistryAuth)}"], "token", StringComparison.Ordinal)
            && app.Services.GetService<IServiceProviderIsService>()?.IsService(typeof(BuildRegistryTokens)) == true)
        {
            app.MapRegistryTokenApi();
        }

        app.UseWhen(c => (c.Request.Path.StartsWithSegments("/api/v1", StringComparison.Ordinal) && !AuthApi.IsAnonymous(c.Request.Path))
                || (UiApi.IsPage(c.Request.Path) && !UiApi.IsAnonymous(c.Request.Path)),
            b => b.UseMiddleware<BearerAuthMiddleware>());
        app.MapUi();
        var api = app.MapGroup("/api/v1");
        api.MapAccountApi();
        api.MapReservationsApi();
        api.MapFleetApi();
        api.MapUsageApi();
        api.MapTimelineApi();
        api.MapDisksApi();
        api.MapBuildContextsApi();
        api.MapAuditApi();
        api.MapAuthApi();
        api.MapTokensApi();
        api.MapKeysApi();
        api.MapUsersApi();
    }

    private static string LogFormat(IConfiguration configuration) =>
        configuration[LogFormatKey] is { Length: > 0 } format ? format.ToLowerInvariant() : "simple";

    private static bool TryNetworks(MetricsOptions options)
    {
        try
        {
            _ = options.Networks();
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static string CodeFor(int status) => status switch
    {
        400 or 413 or 415 => ProblemCodes.BadRequest,
        401 => ProblemCodes.Unauthorized,
        403 => ProblemCodes.Forbidden,
        404 or 405 => ProblemCodes.NotFound,
        409 => ProblemCodes.Conflict,
        _ => ProblemCodes.Internal,
    };
}
