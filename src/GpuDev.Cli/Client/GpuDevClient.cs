using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using GpuDev.Contracts;

namespace GpuDev.Cli.Client;

/// <summary>
/// Typed client for the gpu-dev HTTP API (source-generated JSON only, NativeAOT-safe).
/// Non-2xx answers become a <see cref="CliException"/> built from the server's ProblemDetails.
/// </summary>
internal sealed partial class GpuDevClient
{
    public const string AuthHint = "sign in with `gpu-dev login`, or run `gpu-dev config set token TOKEN` with a token from an admin (`gpu-dev admin user add`, `gpu-dev-server user add`)";

    private readonly HttpClient _http;
    private readonly TextWriter? _debug;

    /// <param name="token">The bearer token; null for the few routes that need none (<c>GET /api/v1/auth</c>, the login).</param>
    public GpuDevClient(HttpClient http, Uri serverUrl, string? token, TextWriter? debug = null)
    {
        _http = http;
        _debug = debug;
        ServerUrl = serverUrl;
        _http.BaseAddress = serverUrl;
        if (token is not null)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("gpu-dev", CliInfo.Version));
    }

    public Uri ServerUrl { get; }

    public Task<MeDto> GetMeAsync(CancellationToken ct) =>
        SendAsync(HttpMethod.Get, Routes.Me, null, null, GpuDevJsonContext.Default.MeDto, ct);

    public Task<MeDto> SetGithubUserAsync(string? login, CancellationToken ct) =>
        SendAsync(HttpMethod.Put, Routes.MeGithubUser, JsonSerializer.Serialize(new SetGithubUserRequest(login), GpuDevJsonContext.Default.SetGithubUserRequest),
            null, GpuDevJsonContext.Default.MeDto, ct);

    public Task<GpuTypesResponse> GetGpuTypesAsync(CancellationToken ct) =>
        SendAsync(HttpMethod.Get, Routes.GpuTypes, null, null, GpuDevJsonContext.Default.GpuTypesResponse, ct);

    public Task<AvailabilityResponse> GetAvailabilityAsync(CancellationToken ct) =>
        SendAsync(HttpMethod.Get, Routes.Availability, null, null, GpuDevJsonContext.Default.AvailabilityResponse, ct);

    public Task<ClusterStatusDto> GetStatusAsync(CancellationToken ct) =>
        SendAsync(HttpMethod.Get, Routes.Status, null, null, GpuDevJsonContext.Default.ClusterStatusDto, ct);

    /// <summary>GPU-hours booked and used per user and type; <paramref name="since"/> is sent as typed (an age counts back
    /// from the server's clock).</summary>
    public Task<UsageReportDto> GetUsageAsync(string? user, string? since, CancellationToken ct)
    {
        var query = new List<string>();
        if (!string.IsNullOrEmpty(user))
        {
            query.Add($"user={Uri.EscapeDataString(user)}");
        }

        if (!string.IsNullOrEmpty(since))
        {
            query.Add($"since={Uri.EscapeDataString(since)}");
        }

        var path = query.Count == 0 ? Routes.Usage : $"{Routes.Usage}?{string.Join('&', query)}";
        return SendAsync(HttpMethod.Get, path, null, null, GpuDevJsonContext.Default.UsageReportDto, ct, notFoundHint: "see the users with `gpu-dev admin user list`");
    }

    public Task<ReservationDto> CreateReservationAsync(CreateReservationRequest request, string idempotencyKey, CancellationToken ct)
    {
        var body = JsonSerializer.Serialize(request, GpuDevJsonContext.Default.CreateReservationRequest);
        return SendAsync(HttpMethod.Post, Routes.Reservations, body, idempotencyKey, GpuDevJsonContext.Default.ReservationDto, ct);
    }

    public Task<List<ReservationDto>> ListReservationsAsync(string? user, string? status, bool all, CancellationToken ct)
    {
        var query = new List<string>();
        if (!string.IsNullOrEmpty(user))
        {
            query.Add("user=" + Uri.EscapeDataString(user));
        }

        if (!string.IsNullOrEmpty(status))
        {
            query.Add("status=" + Uri.EscapeDataString(status));
        }

        if (all)
        {
            query.Add("all=true");
        }

        var path = query.Count == 0 ? Routes.Reservations : $"{Routes.Reservations}?{string.Join('&', query)}";
        return SendAsync(HttpMethod.Get, path, null, null, GpuDevJsonContext.Default.ListReservationDto, ct);
    }

    public Task<ReservationDto> GetReservationAsync(string idOrPrefix, CancellationToken ct) =>
        SendAsync(HttpMethod.Get, Routes.Reservation(idOrPrefix), null, null, GpuDevJsonContext.Default.ReservationDto, ct);

    public Task<ReservationDto> EditReservationAsync(string idOrPrefix, EditReservationRequest request, CancellationToken ct)
    {
        var body = JsonSerializer.Serialize(request, GpuDevJsonContext.Default.EditReservationRequest);
        return SendAsync(HttpMethod.Patch, Routes.Reservation(idOrPrefix), body, null, GpuDevJsonContext.Default.ReservationDto, ct);
    }

    public Task<ReservationDto> CancelReservationAsync(string idOrPrefix, CancellationToken ct) =>
        SendAsync(HttpMethod.Delete, Routes.Reservation(idOrPrefix), null, null, GpuDevJsonContext.Default.ReservationDto, ct);

    /// <summary>Your disks (<c>all</c> adds deleted ones); <c>user</c> (admin) lists that user's, deleted included.</summary>
    public Task<List<DiskDto>> ListDisksAsync(string? user, bool all, CancellationToken ct)
    {
        var query = new List<string>();
        if (!string.IsNullOrEmpty(user))
        {
            query.Add("user=" + Uri.EscapeDataString(user));
        }

        if (all)
        {
            query.Add("all=true");
        }

        var path = query.Count == 0 ? Routes.Disks : $"{Routes.Disks}?{string.Join('&', query)}";
        return SendAsync(HttpMethod.Get, path, null, null, GpuDevJsonContext.Default.ListDiskDto, ct, DiskNotFoundHint);
    }

    public Task<DiskDto> CreateDiskAsync(string name, CancellationToken ct)
    {
        var body = JsonSerializer.Serialize(new CreateDiskRequest(name), GpuDevJsonContext.Default.CreateDiskRequest);
        return SendAsync(HttpMethod.Post, Routes.Disks, body, null, GpuDevJsonContext.Default.DiskDto, ct, DiskNotFoundHint);
    }

    public Task<DiskDto> DeleteDiskAsync(string name, CancellationToken ct) =>
        SendAsync(HttpMethod.Delete, Routes.Disk(name), null, null, GpuDevJsonContext.Default.DiskDto, ct, DiskNotFoundHint);

    public Task<DiskDto> RenameDiskAsync(string name, string newName, CancellationToken ct)
    {
        var body = JsonSerializer.Serialize(new RenameDiskRequest(newName), GpuDevJsonContext.Default.RenameDiskRequest);
        return SendAsync(HttpMethod.Post, $"{Routes.Disk(name)}/rename", body, null, GpuDevJsonContext.Default.DiskDto, ct, DiskNotFoundHint);
    }

    public Task<DiskContentDto> GetDiskContentAsync(string name, CancellationToken ct) =>
        SendAsync(HttpMethod.Get, $"{Routes.Disk(name)}/content", null, null, GpuDevJsonContext.Default.DiskContentDto, ct, DiskNotFoundHint);

    /// <summary>Replaces the disk's content with a snapshot (<paramref name="snapshotId"/> null: the latest).</summary>
    public Task<DiskDto> RestoreDiskAsync(string name, string? snapshotId, CancellationToken ct, string? notFoundHint = null)
    {
        var body = JsonSerializer.Serialize(new RestoreDiskRequest(snapshotId), GpuDevJsonContext.Default.RestoreDiskRequest);
        return SendAsync(HttpMethod.Post, $"{Routes.Disk(name)}/restore", body, null, GpuDevJsonContext.Default.DiskDto, ct, notFoundHint ?? DiskNotFoundHint);
    }

    public Task<DiskDto> UndeleteDiskAsync(string name, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, $"{Routes.Disk(name)}/undelete", null, null, GpuDevJsonContext.Default.DiskDto, ct, DeletedDiskNotFoundHint);

    /// <summary>The disk's snapshots, newest first.</summary>
    public Task<List<DiskSnapshotDto>> ListDiskSnapshotsAsync(string name, CancellationToken ct) =>
        SendAsync(HttpMethod.Get, $"{Routes.Disk(name)}/snapshots", null, null, GpuDevJsonContext.Default.ListDiskSnapshotDto, ct, DiskNotFoundHint);

    /// <summary>The audit log, newest first (admins only).</summary>
    public Task<List<AuditEntryDto>> ListAuditAsync(string? user, string? target, string? action, DateTimeOffset? since, int? limit, CancellationToken ct)
    {
        var query = new List<string>();
        void Add(string name, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                query.Add($"{name}={Uri.EscapeDataString(value)}");
            }
        }

        Add("user", user);
        Add("target", target);
        Add("action", action);
        Add("since", since is { } s ? s.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture) : null);
        Add("limit", limit?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var path = query.Count == 0 ? Routes.Audit : $"{Routes.Audit}?{string.Join('&', query)}";
        return SendAsync(HttpMethod.Get, path, null, null, GpuDevJsonContext.Default.ListAuditEntryDto, ct);
    }

    /// <summary>The caller's tokens (secrets are never sent back).</summary>
    public Task<List<TokenDto>> ListTokensAsync(CancellationToken ct) =>
        SendAsync(HttpMethod.Get, Routes.Tokens, null, null, GpuDevJsonContext.Default.ListTokenDto, ct);

    public Task<CreatedTokenDto> CreateTokenAsync(CreateTokenRequest request, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, Routes.Tokens, JsonSerializer.Serialize(request, GpuDevJsonContext.Default.CreateTokenRequest),
            null, GpuDevJsonContext.Default.CreatedTokenDto, ct);

    /// <summary>Revokes one of the caller's tokens by id or a prefix of it (at least 4 characters).</summary>
    public Task<TokenDto> RevokeTokenAsync(string idOrPrefix, CancellationToken ct) =>
        SendAsync(HttpMethod.Delete, Routes.Token(idOrPrefix), null, null, GpuDevJsonContext.Default.TokenDto, ct, TokenNotFoundHint, TokenNotFoundHint);

    /// <summary>Revokes the token this client sends.</summary>
    public Task<TokenDto> LogoutAsync(CancellationToken ct) =>
        SendAsync(HttpMethod.Post, Routes.Logout, null, null, GpuDevJsonContext.Default.TokenDto, ct);

    public Task<List<SshKeyDto>> ListKeysAsync(CancellationToken ct) =>
        SendAsync(HttpMethod.Get, Routes.MeKeys, null, null, GpuDevJsonContext.Default.ListSshKeyDto, ct);

    public Task<SshKeyChangeDto> AddKeyAsync(string key, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, Routes.MeKeys, JsonSerializer.Serialize(new AddSshKeyRequest(key), GpuDevJsonContext.Default.AddSshKeyRequest),
            null, GpuDevJsonContext.Default.SshKeyChangeDto, ct);

    public Task<SshKeyChangeDto> RemoveKeyAsync(string fingerprint, CancellationToken ct) =>
        SendAsync(HttpMethod.Delete, $"{Routes.MeKeys}?fingerprint={Uri.EscapeDataString(fingerprint)}", null, null,
            GpuDevJsonContext.Default.SshKeyChangeDto, ct, "see your keys with `gpu-dev keys list`");

    /// <summary>Every user (admins only). The trailing slash is the route as the server maps it (a group's root).</summary>
    public Task<List<UserDto>> ListUsersAsync(CancellationToken ct) =>
        SendAsync(HttpMethod.Get, Routes.AdminUsers + "/", null, null, GpuDevJsonContext.Default.ListUserDto, ct);

    public Task<CreatedUserDto> CreateUserAsync(CreateUserRequest request, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, Routes.AdminUsers + "/", JsonSerializer.Serialize(request, GpuDevJsonContext.Default.CreateUserRequest),
            null, GpuDevJsonContext.Default.CreatedUserDto, ct);

    /// <summary>Disables (<paramref name="disable"/>) or enables a user; the answer lists their live reservations.</summary>
    public Task<UserChangeDto> SetUserDisabledAsync(string name, bool disable, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, $"{Routes.AdminUser(name)}/{(disable ? "disable" : "enable")}", null, null,
            GpuDevJsonContext.Default.UserChangeDto, ct, UserNotFoundHint);

    public Task<UserDto> SetUserAdminAsync(string name, bool admin, CancellationToken ct) =>
        SendAsync(HttpMethod.Put, $"{Routes.AdminUser(name)}/admin", JsonSerializer.Serialize(new SetAdminRequest(admin), GpuDevJsonContext.Default.SetAdminRequest),
            null, GpuDevJsonContext.Default.UserDto, ct, UserNotFoundHint);

    /// <summary>How to sign in to this server (no token needed).</summary>
    public Task<AuthInfoDto> GetAuthInfoAsync(CancellationToken ct) =>
        SendAsync(HttpMethod.Get, Routes.Auth, null, null, GpuDevJsonContext.Default.AuthInfoDto, ct,
            "a server older than sign-in answers so (compare `gpu-dev --version` with the server's); ask an admin for a token meanwhile");

    /// <summary>Trades the OpenID provider's ID token for a gpu-dev session token (no token needed).</summary>
    public Task<LoginResultDto> LoginWithOidcAsync(OidcLoginRequest request, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, Routes.AuthOidc, JsonSerializer.Serialize(request, GpuDevJsonContext.Default.OidcLoginRequest),
            null, GpuDevJsonContext.Default.LoginResultDto, ct);

    /// <summary>Trades a signed, unsent <c>sts:GetCallerIdentity</c> request for a gpu-dev session token (no token needed).</summary>
    public Task<LoginResultDto> LoginWithAwsAsync(AwsLoginRequest request, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, Routes.AuthAws, JsonSerializer.Serialize(request, GpuDevJsonContext.Default.AwsLoginRequest),
            null, GpuDevJsonContext.Default.LoginResultDto, ct);

    /// <summary>Uploads a <c>--dockerfile</c> build context (gzip-compressed tar) under its SHA-256; the server keeps one copy.</summary>
    public async Task UploadBuildContextAsync(string sha256, string file, CancellationToken ct)
    {
        await using var stream = File.OpenRead(file);
        using var request = new HttpRequestMessage(HttpMethod.Put, Routes.BuildContext(sha256).TrimStart('/'))
        {
            Content = new StreamContent(stream),
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/gzip");
        _debug?.WriteLine($"> PUT {new Uri(ServerUrl, Routes.BuildContext(sha256).TrimStart('/'))} ({stream.Length} bytes)");
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw Unreachable(ex.InnerException is SocketException se ? se.Message : ex.Message, ex);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw ToException(response.StatusCode, response.ReasonPhrase, await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false));
            }
        }
    }

    public const string DiskNotFoundHint = "see your disks with `gpu-dev disk list`";

    public const string TokenNotFoundHint = "see your tokens with `gpu-dev token list`";

    public const string UserNotFoundHint = "see the users with `gpu-dev admin user list`";

    public const string DeletedDiskNotFoundHint = "see your deleted disks with `gpu-dev disk list --all` (they can be undeleted until their snapshots are purged)";

    private async Task<T> SendAsync<T>(HttpMethod method, string path, string? jsonBody, string? idempotencyKey, JsonTypeInfo<T> typeInfo, CancellationToken ct, string? notFoundHint = null, string? ambiguousHint = null)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (jsonBody is not null)
        {
            request.Content = new StringContent(jsonBody, Encoding.UTF8, "application/json");
        }

        if (idempotencyKey is not null)
        {
            request.Headers.Add(Routes.IdempotencyKeyHeader, idempotencyKey);
        }

        _debug?.WriteLine($"> {method} {new Uri(ServerUrl, path.TrimStart('/'))}");
        if (jsonBody is not null)
        {
            _debug?.WriteLine($"> {Redacted(jsonBody)}");
        }

        var started = Stopwatch.GetTimestamp();
        HttpResponseMessage response;
        string text;
        try
        {
            response = await _http.SendAsync(request, ct).ConfigureAwait(false);
            text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw Unreachable(ex.InnerException is SocketException se ? se.Message : ex.Message, ex);
        }
        catch (TaskCanceledException ex) when (!ct.IsCancellationRequested)
        {
            throw Unreachable("the request timed out", ex);
        }

        using (response)
        {
            _debug?.WriteLine($"< {(int)response.StatusCode} {response.ReasonPhrase} ({Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms)");
            _debug?.WriteLine($"< {Redacted(text)}");

            if (!response.IsSuccessStatusCode)
            {
                throw ToException(response.StatusCode, response.ReasonPhrase, text, notFoundHint, ambiguousHint);
            }

            try
            {
                return JsonSerializer.Deserialize(text, typeInfo)
                    ?? throw new CliException(ExitCodes.Failure, $"the server at {ServerUrl} answered {method} {path} with an empty body");
            }
            catch (JsonException ex)
            {
                throw new CliException(ExitCodes.Failure, $"the server at {ServerUrl} sent a response the CLI cannot read: {ex.Message}",
                    "is the server the same version as this CLI? (`gpu-dev --version`)", ex);
            }
        }
    }

    private CliException Unreachable(string reason, Exception inner) =>
        new(ExitCodes.Failure, $"cannot reach the gpu-dev server at {ServerUrl.ToString().TrimEnd('/')}: {reason}",
            "check the URL with `gpu-dev config show` (set it with `gpu-dev config set server URL` or GPU_DEV_SERVER), and that `gpu-dev-server run` is running",
            inner)
        { Unreachable = true };

    internal static CliException ToException(HttpStatusCode status, string? reasonPhrase, string body, string? notFoundHint = null, string? ambiguousHint = null)
    {
        ProblemDto? problem = null;
        if (!string.IsNullOrWhiteSpace(body))
        {
            try
            {
                problem = JsonSerializer.Deserialize(body, GpuDevJsonContext.Default.ProblemDto);
            }
            catch (JsonException)
            {
            }
        }

        var messages = new List<string>();
        var fieldMessages = problem?.Errors?.SelectMany(e => e.Value ?? []).Where(m => !string.IsNullOrWhiteSpace(m)).ToList() ?? [];
        if (fieldMessages.Count > 1)
        {
            messages.AddRange(fieldMessages);
        }
        else if (!string.IsNullOrWhiteSpace(problem?.Detail))
        {
            messages.Add(problem.Detail);
        }
        else if (fieldMessages.Count == 1)
        {
            messages.Add(fieldMessages[0]);
        }
        else if (!string.IsNullOrWhiteSpace(problem?.Title))
        {
            messages.Add(problem.Title);
        }
        else
        {
            messages.Add($"the server answered {(int)status} {reasonPhrase}".TrimEnd());
        }

        var code = problem?.Code;
        if (status == HttpStatusCode.Unauthorized || code == ProblemCodes.Unauthorized)
        {
            // The server's reason is shown as it is ("The token 'x' expired at ...; log in again with 'gpu-dev login'");
            // the hint only adds what it does not already say.
            var saysHow = messages.Any(m => m.Contains("gpu-dev login", StringComparison.Ordinal));
            return new CliException(ExitCodes.AuthRequired, messages, saysHow ? null : AuthHint) { ProblemCode = code, HttpStatus = (int)status };
        }

        if (status == HttpStatusCode.Forbidden || code == ProblemCodes.Forbidden)
        {
            return new CliException(ExitCodes.AuthRequired, messages) { ProblemCode = code, HttpStatus = (int)status };
        }

        string? hint = code switch
        {
            ProblemCodes.AmbiguousId => ambiguousHint ?? "give more characters of the reservation ID (see `gpu-dev list`)",
            ProblemCodes.NotFound => notFoundHint ?? "see your reservations with `gpu-dev list --all`",
            _ => null,
        };
        return new CliException(ExitCodes.Failure, messages, hint) { ProblemCode = code, HttpStatus = (int)status };
    }

    /// <summary>Debug output without secrets: tokens, ID tokens and signed Authorization headers are shown as
    /// <c>&lt;redacted&gt;</c> (a terminal's scrollback or a pasted bug report must not sign anyone in).</summary>
    internal static string Redacted(string? text) => text is null ? "" : SecretPattern().Replace(text, "\"$1\":\"<redacted>\"");

    [System.Text.RegularExpressions.GeneratedRegex("\"(token|idToken|authorization|Authorization)\"\\s*:\\s*\"[^\"]*\"")]
    private static partial System.Text.RegularExpressions.Regex SecretPattern();
}
