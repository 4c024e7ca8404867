namespace GpuDev.Storage;

/// <summary>Times as both databases store them: Unix milliseconds (UTC) in a 64-bit integer column, so a
/// <see cref="DateTimeOffset"/> round-trips to the same millisecond on either.</summary>
internal static class SqlTime
{
    public static long ToMs(DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    public static long? ToMs(DateTimeOffset? value) => value?.ToUnixTimeMilliseconds();

    public static DateTimeOffset FromMs(long value) => DateTimeOffset.FromUnixTimeMilliseconds(value);
}
