using System.Globalization;
using GpuDev.Contracts;
using GpuDev.Core.Audit;
using GpuDev.Server.Api;
using GpuDev.Server.Identity;
using Microsoft.AspNetCore.Http.HttpResults;

namespace GpuDev.Server.Audit;

/// <summary><c>GET /api/v1/admin/audit?user=&amp;target=&amp;action=&amp;since=&amp;limit=</c>: the audit trail, newest first (admins only).</summary>
public static class AuditApi
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    public static RouteGroupBuilder MapAuditApi(this RouteGroupBuilder api)
    {
        api.MapGet("/admin/audit", QueryAsync).WithName("Audit").WithTags("Admin");
        return api;
    }

    internal static async Task<Results<Ok<List<AuditEntryDto>>, ProblemHttpResult>> QueryAsync(
        CurrentUser caller, string? user, string? target, string? action, string? since, string? limit,
        IAuditLog audit, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (!caller.IsAdmin)
        {
            return Problems.Forbidden("Only admins can read the audit log.");
        }

        DateTimeOffset? from = null;
        if (since is not null)
        {
            if (!SinceParameter.TryParse(since, timeProvider.GetUtcNow(), out var parsed))
            {
                return Problems.BadRequest($"since '{since}' is not valid; {SinceParameter.Rule}.", "since");
            }

            from = parsed;
        }

        var max = DefaultLimit;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out max) || max is < 1 or > MaxLimit))
        {
            return Problems.BadRequest($"limit '{limit}' is not valid; give a whole number from 1 to {MaxLimit}.", "limit");
        }

        var entries = await audit.QueryAsync(new AuditQuery(Empty(user), Empty(target), Empty(action), from, max), cancellationToken);
        return TypedResults.Ok(entries.Select(e => new AuditEntryDto
        {
            Id = e.Id,
            At = e.At,
            Actor = e.Actor,
            Action = e.Action,
            Target = e.Target,
            Outcome = e.Outcome,
            Detail = e.Detail,
            RemoteAddress = e.RemoteAddress,
        }).ToList());
    }

    private static string? Empty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
