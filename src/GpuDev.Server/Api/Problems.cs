using GpuDev.Contracts;
using GpuDev.Core.Reservations;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace GpuDev.Server.Api;

/// <summary>Every error response: RFC 7807 with a stable <c>code</c> (and <c>type</c> = urn:gpu-dev:problem:code).</summary>
internal static class Problems
{
    public static ProblemHttpResult Create(int status, string code, string title, string detail, IDictionary<string, string[]>? errors = null)
    {
        var problem = new ProblemDetails
        {
            Status = status,
            Type = ProblemCodes.TypeUri(code),
            Title = title,
            Detail = detail,
        };
        problem.Extensions["code"] = code;
        if (errors is not null)
        {
            problem.Extensions["errors"] = errors;
        }

        return TypedResults.Problem(problem);
    }

    public static ProblemHttpResult Validation(IReadOnlyList<RuleViolation> violations) =>
        Create(StatusCodes.Status400BadRequest, ProblemCodes.Validation, "The request breaks a reservation rule.",
            string.Join(" ", violations.Select(v => v.Message)),
            violations.GroupBy(v => v.Field).ToDictionary(g => g.Key, g => g.Select(v => v.Message).ToArray()));

    public static ProblemHttpResult BadRequest(string detail, string field) =>
        Create(StatusCodes.Status400BadRequest, ProblemCodes.BadRequest, "The request is not valid.", detail,
            new Dictionary<string, string[]> { [field] = [detail] });

    public static ProblemHttpResult Unauthorized(string detail) =>
        Create(StatusCodes.Status401Unauthorized, ProblemCodes.Unauthorized, "Not authenticated.", detail);

    public static ProblemHttpResult NotFound(string detail) =>
        Create(StatusCodes.Status404NotFound, ProblemCodes.NotFound, "No such reservation.", detail);

    public static ProblemHttpResult Ambiguous(string detail) =>
        Create(StatusCodes.Status409Conflict, ProblemCodes.AmbiguousId, "The id prefix is ambiguous.", detail);

    public static ProblemHttpResult InvalidTransition(string detail) =>
        Create(StatusCodes.Status409Conflict, ProblemCodes.InvalidTransition, "The reservation cannot change that way.", detail);

    public static ProblemHttpResult TooManyRequests(string detail) =>
        Create(StatusCodes.Status429TooManyRequests, ProblemCodes.TooManyRequests, "Too many failed authentications.", detail);

    public static ProblemHttpResult Forbidden(string detail) =>
        Create(StatusCodes.Status403Forbidden, ProblemCodes.Forbidden, "Not allowed.", detail);

    public static ProblemHttpResult Conflict(string detail) =>
        Create(StatusCodes.Status409Conflict, ProblemCodes.Conflict, "The change conflicts with the reservation's state.", detail);

    public static ProblemHttpResult Unavailable(string detail) =>
        Create(StatusCodes.Status422UnprocessableEntity, ProblemCodes.Unavailable, "Not available here.", detail);

    public static ProblemHttpResult NotSupported(string detail) =>
        Create(StatusCodes.Status422UnprocessableEntity, ProblemCodes.NotSupported, "Not supported here yet.", detail);

    public static ProblemHttpResult InsufficientCapacity(string detail) =>
        Create(StatusCodes.Status422UnprocessableEntity, ProblemCodes.InsufficientCapacity, "The fleet can never fit this request.", detail);
}
