using GpuDev.Contracts;
using GpuDev.Core.Catalog;
using GpuDev.Core.Compute;
using GpuDev.Core.Identity;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;
using GpuDev.Server.Identity;

namespace GpuDev.Server.Api;

/// <summary>Who am I, and what can be reserved here.</summary>
public static class AccountApi
{
    public static RouteGroupBuilder MapAccountApi(this RouteGroupBuilder api)
    {
        api.MapGet("/me", (CurrentUser caller, IComputeProvider provider) =>
            TypedResults.Ok(new MeDto(caller.User.Name, caller.User.GithubUser, caller.IsAdmin, provider.Name))).WithName("Me").WithTags("Account");
        api.MapPut("/me/github-user", SetGithubUserAsync).WithName("SetGithubUser").WithTags("Account");
        api.MapGet("/gpu-types", (GpuCatalog catalog) =>
            TypedResults.Ok(new GpuTypesResponse([.. catalog.Types.Select(t => t.ToDto())], ReservationRules.AllowedGpuCounts, ReservationRules.MinHours, ReservationRules.MaxHours)))
            .WithName("GpuTypes").WithTags("Account");
        return api;
    }

    /// <summary>Sets the caller's GitHub login after checking that its keys can be fetched (a login whose keys cannot be is
    /// refused with the reason and nothing is changed); null clears it. Reservations made from then on accept those keys.</summary>
    private static async Task<IResult> SetGithubUserAsync(SetGithubUserRequest request, CurrentUser caller, IReservationStore store, KeyCollector keys, IComputeProvider provider, TokenCache tokens, CancellationToken cancellationToken)
    {
        try
        {
            return await ChangeGithubUserAsync(request, caller, store, keys, provider, cancellationToken);
        }
        finally
        {
            tokens.Forget(caller.User.Id); // after the write, so the next request reads the user as changed
        }
    }

    private static async Task<IResult> ChangeGithubUserAsync(SetGithubUserRequest request, CurrentUser caller, IReservationStore store, KeyCollector keys, IComputeProvider provider, CancellationToken cancellationToken)
    {
        var login = request.GithubUser?.Trim().TrimStart('@');
        if (string.IsNullOrEmpty(login))
        {
            await store.SetGithubUserAsync(caller.User.Id, null, cancellationToken);
            return TypedResults.Ok(new MeDto(caller.User.Name, null, caller.IsAdmin, provider.Name));
        }

        if (!UserNames.IsValidGithub(login))
        {
            return Problems.BadRequest($"'{(login.Length > 40 ? login[..40] + "…" : login)}' is not a GitHub login (1-39 letters, digits or single hyphens, not starting or ending with a hyphen).", "githubUser");
        }

        if (await keys.CheckAddableAsync(login, cancellationToken) is { } refusal)
        {
            return refusal.Unavailable ? Problems.Unavailable(refusal.Message) : Problems.BadRequest(refusal.Message, "githubUser");
        }

        await store.SetGithubUserAsync(caller.User.Id, login, cancellationToken);
        return TypedResults.Ok(new MeDto(caller.User.Name, login, caller.IsAdmin, provider.Name));
    }
}
