namespace GpuDev.Contracts;

/// <summary>One of the caller's tokens (<c>GET /api/v1/tokens</c>); never its secret. <see cref="Kind"/>: bootstrap
/// (made with the user), api (<c>gpu-dev token create</c>) or session (a login). <see cref="Current"/>: the token this
/// request was made with.</summary>
public sealed record TokenDto(string Id, string Name, string Kind, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? RevokedAt, bool Current);

/// <summary><c>POST /api/v1/tokens</c>: a name (1-64 printable characters) and a lifetime in hours (default 30 days,
/// at most a year).</summary>
public sealed record CreateTokenRequest(string? Name, double? TtlHours);

/// <summary>A new token: the secret, shown once (only its SHA-256 is kept), and its record.</summary>
public sealed record CreatedTokenDto(string Token, TokenDto Record);

/// <summary>A user as admins see them (<c>GET /api/v1/admin/users</c>).</summary>
public sealed record UserDto(string Name, string? GithubUser, bool Admin, DateTimeOffset CreatedAt, DateTimeOffset? DisabledAt);

/// <summary><c>POST /api/v1/admin/users</c>.</summary>
public sealed record CreateUserRequest(string Name, bool Admin, string? GithubUser);

/// <summary>A new user and their first token (bootstrap, valid a year), shown once.</summary>
public sealed record CreatedUserDto(UserDto User, string Token, DateTimeOffset ExpiresAt);

/// <summary>After disabling or enabling a user: the user, and their live reservations, which keep running (an admin
/// decides about them: <c>gpu-dev cancel ID</c>).</summary>
public sealed record UserChangeDto(UserDto User, List<ReservationDto> LiveReservations);

/// <summary><c>PUT /api/v1/admin/users/{name}/admin</c>.</summary>
public sealed record SetAdminRequest(bool Admin);

/// <summary>One of the caller's registered SSH keys (<c>GET /api/v1/me/keys</c>): its OpenSSH fingerprint, type and
/// comment, and the key line.</summary>
public sealed record SshKeyDto(string Fingerprint, string Type, string? Comment, string Key);

/// <summary><c>POST /api/v1/me/keys</c>: one OpenSSH public key line.</summary>
public sealed record AddSshKeyRequest(string Key);

/// <summary>After adding or removing a key: the key, and the live reservations whose environments were given the new set.</summary>
public sealed record SshKeyChangeDto(SshKeyDto Key, List<string> UpdatedReservations);

/// <summary><c>GET /api/v1/auth</c> (no token needed): how to sign in to this server. <see cref="Oidc"/> is null where
/// no OpenID provider is configured; <see cref="Aws"/> says whether AWS credentials sign in (<c>gpu-dev login --aws</c>),
/// with what to sign in <see cref="AwsSigning"/>. With neither, only tokens from an admin work.</summary>
public sealed record AuthInfoDto(OidcInfoDto? Oidc, bool Aws)
{
    public AwsSigningDto? AwsSigning { get; init; }
}

/// <summary>How to sign the <c>sts:GetCallerIdentity</c> request that proves an AWS identity: to <see cref="StsEndpoint"/>
/// (signing region <see cref="Region"/>), with the header <c>X-GpuDev-Server-Id: {ServerId}</c> among the signed ones,
/// so a request signed for this server is worthless to any other.</summary>
public sealed record AwsSigningDto(string StsEndpoint, string Region, string ServerId);

/// <summary><c>POST /api/v1/auth/aws</c> (no token needed): a signed, unsent <c>sts:GetCallerIdentity</c> request (POST,
/// form body <c>Action=GetCallerIdentity&amp;Version=2011-06-15</c>); the server sends it to STS itself and signs in
/// whoever AWS says signed it.</summary>
public sealed record AwsLoginRequest(string Url, string Body, Dictionary<string, string> Headers, string? TokenName);

/// <summary>The site's OpenID provider: the CLI discovers its endpoints at <c>{Authority}/.well-known/openid-configuration</c>
/// and runs the device authorization grant (RFC 8628) with <see cref="ClientId"/> and <see cref="Scopes"/>.</summary>
public sealed record OidcInfoDto(string Authority, string ClientId, string Scopes);

/// <summary><c>POST /api/v1/auth/oidc</c> (no token needed): the ID token the provider issued at the end of the device
/// flow, and a name for the session token (default: "login HOST").</summary>
public sealed record OidcLoginRequest(string IdToken, string? TokenName);

/// <summary>A login's answer: the gpu-dev session token (shown once), who it is for, when it expires, and whether the
/// user was created by this login.</summary>
public sealed record LoginResultDto(string Token, string User, bool Admin, DateTimeOffset ExpiresAt, bool Created);
