using System.Data.Common;
using GpuDev.Core.Identity;

namespace GpuDev.Storage;

/// <summary>A user as read from <c>users u</c>: the columns (<see cref="Columns"/>, in this order) and the reader.</summary>
internal static class UserRows
{
    public const string Columns = "u.id, u.name, u.github_user, u.is_admin, u.created_at, u.disabled_at";

    public const int Count = 6;

    public static User Read(DbDataReader r, int at = 0) =>
        new(r.GetString(at), r.GetString(at + 1), r.GetStringOrNull(at + 2), r.GetBoolean(at + 3), r.GetTime(at + 4)) { DisabledAt = r.GetTimeOrNull(at + 5) };
}
