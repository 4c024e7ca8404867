using GpuDev.Contracts;
using GpuDev.Core.Catalog;
using GpuDev.Core.Compute;
using GpuDev.Core.Reservations;
using GpuDev.Server.Identity;

namespace GpuDev.Server.Api;

/// <summary>Who am I, and what can be reserved here.</summary>
public static class AccountApi
{
    public static RouteGroupBuilder MapAccountApi(this RouteGroupBuilder api)
    {
        api.MapGet("/me", (CurrentUser caller, IComputeProvider provider) =>
            TypedResults.Ok(new MeDto(caller.User.Name, caller.User.GithubUser, caller.IsAdmin, provider.Name))).WithName("Me").WithTags("Account");
        api.MapGet("/gpu-types", (GpuCatalog catalog) =>
            TypedResults.Ok(new GpuTypesResponse([.. catalog.Types.Select(t => t.ToDto())], ReservationRules.AllowedGpuCounts, ReservationRules.MinHours, ReservationRules.MaxHours)))
            .WithName("GpuTypes").WithTags("Account");
        return api;
    }
}
