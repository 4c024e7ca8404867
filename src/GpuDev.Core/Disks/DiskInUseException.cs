namespace GpuDev.Core.Disks;

/// <summary>The disk is attached to another reservation (or being backed up); nothing was written.</summary>
public sealed class DiskInUseException(string diskName, string? holder)
    : Exception($"Disk {diskName} is in use by reservation {(holder is null ? "?" : holder[..Math.Min(8, holder.Length)])}.")
{
    public string? Holder { get; } = holder;
}
