using GpuDev.Contracts;
using GpuDev.Core.Identity;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;
using GpuDev.Server.Audit;
using GpuDev.Server.Identity;
using Microsoft.AspNetCore.Http.HttpResults;

namespace GpuDev.Server.Api;

/// <summary>Users, for admins: list, add (with a first token, shown once), disable, enable, make or unmake admin.
/// Disabling stops the user's tokens at once on this replica (within <see cref="TokenCache.Lifetime"/> on others) and
/// answers with their live reservations, which keep running: what happens to them is the admin's call.</summary>
public static class UsersApi
{
    public static RouteGroupBuilder MapUsersApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/admin/users").WithTags("Admin");
        group.MapGet("/", ListAsync).WithName("ListUsers");
        group.MapPost("/", CreateAsync).WithName("CreateUser");
        group.MapPost("/{name}/disable", (CurrentUser caller, string name, IReservationStore store, IIdentityStore identity, TokenCache tokens, TimeProvider time, CancellationToken ct) =>
            SetDisabledAsync(caller, name, disable: true, store, identity, tokens, time, ct)).WithName("DisableUser");
        group.MapPost("/{name}/enable", (CurrentUser caller, string name, IReservationStore store, IIdentityStore identity, TokenCache tokens, TimeProvider time, CancellationToken ct) =>
            SetDisabledAsync(caller, name, disable: false, store, identity, tokens, time, ct)).WithName("EnableUser");
        group.MapPut("/{name}/admin", SetAdminAsync).WithName("SetAdmin");
        return api;
    }

    private const string AdminsOnly = "Only admins can manage users.";

    internal static async Task<Results<Ok<List<UserDto>>, ProblemHttpResult>> ListAsync(CurrentUser caller, IIdentityStore identity, CancellationToken cancellationToken) =>
        caller.IsAdmin ? TypedResults.Ok((await identity.ListUsersAsync(cancellationToken)).Select(ToDto).ToList()) : Problems.Forbidden(AdminsOnly);

    internal static async Task<Results<Created<CreatedUserDto>, ProblemHttpResult>> CreateAsync(
        CurrentUser caller, CreateUserRequest body, IReservationStore store, HttpContext http, CancellationToken cancellationToken)
    {
        if (!caller.IsAdmin)
        {
            return Problems.Forbidden(AdminsOnly);
        }

        var name = body.Name?.Trim() ?? "";
        if (!UserNames.IsValid(name))
        {
            return Problems.BadRequest($"'{Truncate(name)}' is not a valid user name: {UserNames.Rule}.", "name");
        }

        var github = body.GithubUser?.Trim().TrimStart('@');
        if (github is { Length: > 0 } && !UserNames.IsValidGithub(github))
        {
            return Problems.BadRequest($"'{Truncate(github)}' is not a GitHub login (1-39 letters, digits or single hyphens).", "githubUser");
        }

        http.Items[AuditMiddleware.TargetItem] = name;
        if (await store.FindUserByNameAsync(name, cancellationToken) is not null)
        {
            return Problems.Conflict($"A user named '{name}' exists already.");
        }

        var secret = Tokens.Generate();
        var user = await store.AddUserAsync(name, github is { Length: > 0 } ? github : null, body.Admin, Tokens.Hash(secret), [], cancellationToken);
        return TypedResults.Created(Routes.AdminUser(name), new CreatedUserDto(ToDto(user), secret, user.CreatedAt + Storage.ReservationStore.BootstrapTokenLifetime));
    }

    private static async Task<Results<Ok<UserChangeDto>, ProblemHttpResult>> SetDisabledAsync(
        CurrentUser caller, string name, bool disable, IReservationStore store, IIdentityStore identity, TokenCache tokens, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (!caller.IsAdmin)
        {
            return Problems.Forbidden(AdminsOnly);
        }

        if (await store.FindUserByNameAsync(name, cancellationToken) is not { } user)
        {
            return Problems.NotFound($"There is no user named '{Truncate(name)}'.");
        }

        if (disable && user.Id == caller.Id)
        {
            return Problems.Conflict("You cannot disable your own account (another admin can).");
        }

        var at = disable ? user.DisabledAt ?? timeProvider.GetUtcNow() : (DateTimeOffset?)null;
        await identity.SetDisabledAsync(user.Id, at, cancellationToken);
        tokens.Forget(user.Id);
        var live = await store.ListReservationsAsync(new ReservationQuery(user.Id, [.. Enum.GetValues<ReservationStatus>().Where(s => s.IsLive())]), cancellationToken);
        return TypedResults.Ok(new UserChangeDto(ToDto(user with { DisabledAt = at }), [.. live.Select(r => r.ToDto(withAccess: false))]));
    }

    internal static async Task<Results<Ok<UserDto>, ProblemHttpResult>> SetAdminAsync(
        CurrentUser caller, string name, SetAdminRequest body, IReservationStore store, IIdentityStore identity, TokenCache tokens, CancellationToken cancellationToken)
    {
        if (!caller.IsAdmin)
        {
            return Problems.Forbidden(AdminsOnly);
        }

        if (await store.FindUserByNameAsync(name, cancellationToken) is not { } user)
        {
            return Problems.NotFound($"There is no user named '{Truncate(name)}'.");
        }

        if (!body.Admin && user.Id == caller.Id)
        {
            return Problems.Conflict("You cannot take away your own admin rights (another admin can).");
        }

        await identity.SetAdminAsync(user.Id, body.Admin, cancellationToken);
        tokens.Forget(user.Id);
        return TypedResults.Ok(ToDto(user with { IsAdmin = body.Admin }));
    }

    private static UserDto ToDto(User user) => new(user.Name, user.GithubUser, user.IsAdmin, user.CreatedAt, user.DisabledAt);

    private static string Truncate(string value) => value.Length > 40 ? value[..40] + "…" : value;
}
