namespace GpuDev.Core.Disks;

public enum DiskStatus
{
    Available,
    InUse,
    BackingUp,
    Deleted,
}
