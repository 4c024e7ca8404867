namespace GpuDev.Contracts;

/// <summary>HTTP routes of the API (relative to the server URL).</summary>
public static class Routes
{
    public const string Health = "/healthz";
    public const string Ready = "/readyz";
    public const string Metrics = "/metrics";
    public const string Audit = "/api/v1/admin/audit";
    public const string OpenApi = "/openapi/v1.json";
    public const string Me = "/api/v1/me";
    public const string MeGithubUser = "/api/v1/me/github-user";

    /// <summary>The caller's registered SSH keys (GET, POST; DELETE with <c>?fingerprint=</c>).</summary>
    public const string MeKeys = "/api/v1/me/keys";

    /// <summary>How to sign in here (no token needed).</summary>
    public const string Auth = "/api/v1/auth";

    /// <summary>Exchanges an OpenID provider's ID token for a gpu-dev session token (no token needed).</summary>
    public const string AuthOidc = "/api/v1/auth/oidc";

    /// <summary>Signs in with a signed <c>sts:GetCallerIdentity</c> request (no token needed).</summary>
    public const string AuthAws = "/api/v1/auth/aws";

    /// <summary>Revokes the token the request is made with (<c>gpu-dev logout</c>).</summary>
    public const string Logout = "/api/v1/me/logout";

    /// <summary>The caller's tokens (GET, POST); one of them: <see cref="Token"/>.</summary>
    public const string Tokens = "/api/v1/tokens";

    public static string Token(string id) => $"{Tokens}/{Uri.EscapeDataString(id)}";

    /// <summary>Users, for admins (GET, POST); one of them: <see cref="AdminUser"/>.</summary>
    public const string AdminUsers = "/api/v1/admin/users";

    public static string AdminUser(string name) => $"{AdminUsers}/{Uri.EscapeDataString(name)}";
    public const string GpuTypes = "/api/v1/gpu-types";
    public const string Reservations = "/api/v1/reservations";
    public const string Availability = "/api/v1/availability";
    public const string Timeline = "/api/v1/timeline";
    public const string Status = "/api/v1/status";

    /// <summary>GPU-hours booked and used per user and GPU type (<c>?user=&amp;since=</c>; <c>gpu-dev usage</c>).</summary>
    public const string Usage = "/api/v1/usage";

    public static string Reservation(string id) => $"{Reservations}/{Uri.EscapeDataString(id)}";

    public const string Disks = "/api/v1/disks";

    public static string Disk(string name) => $"{Disks}/{Uri.EscapeDataString(name)}";

    public const string BuildContexts = "/api/v1/build-contexts";

    /// <summary>Where a <c>--dockerfile</c> build context (gzip-compressed tar) is uploaded, by its SHA-256.</summary>
    public static string BuildContext(string sha256) => $"{BuildContexts}/{Uri.EscapeDataString(sha256)}";

    /// <summary>The registry token service of per-build credentials (<c>Kubernetes:BuildRegistryAuth=token</c>): the
    /// registry's <c>auth.token.realm</c>. Authenticated by the build's own Basic credentials, not a gpu-dev token.</summary>
    public const string RegistryToken = "/registry/token";

    /// <summary>The certificate the registry trusts for those tokens (its <c>auth.token.rootcertbundle</c>), PEM.</summary>
    public const string RegistryCertificate = "/registry/certificate";

    /// <summary>Header carrying the client's idempotency key on create.</summary>
    public const string IdempotencyKeyHeader = "Idempotency-Key";
}
