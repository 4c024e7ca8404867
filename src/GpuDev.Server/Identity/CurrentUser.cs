using System.Reflection;
using GpuDev.Core.Identity;

namespace GpuDev.Server.Identity;

/// <summary>The authenticated caller, bound into handlers after <see cref="BearerAuthMiddleware"/> ran, with the token
/// they presented (null only where a caller is made without one, in tests).</summary>
public sealed record CurrentUser(User User)
{
    internal const string ItemKey = "gpu-dev.user";

    public ApiToken? Token { get; init; }

    public string Id => User.Id;

    public bool IsAdmin => User.IsAdmin;

    public static ValueTask<CurrentUser?> BindAsync(HttpContext context, ParameterInfo parameter) =>
        ValueTask.FromResult(context.Items[ItemKey] as CurrentUser);
}
