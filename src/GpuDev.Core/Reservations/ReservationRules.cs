using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using GpuDev.Core.Catalog;

namespace GpuDev.Core.Reservations;

/// <summary>Every rule a reservation request must satisfy (the seed's limits). Server-side, one place.</summary>
public static partial class ReservationRules
{
    public static readonly IReadOnlyList<int> AllowedGpuCounts = [1, 2, 4, 8, 12, 16, 20, 24, 32, 40, 48];

    public const double MinHours = 0.0833;
    public const double MaxHours = 24;
    public const int MaxDockerfileBytes = 512 * 1024;
    public const int MaxNameLength = 63;

    public static string AllowedGpuCountsText => string.Join(", ", AllowedGpuCounts);

    /// <summary>The GPU count the request means: the given one, or 1 for GPU types and 0 for CPU-only types.</summary>
    public static int EffectiveGpuCount(ReservationRequest request, GpuType type) =>
        request.GpuCount ?? (type.IsCpuOnly ? 0 : 1);

    /// <summary>Nodes the request spans once valid: 1, or count / GPUs-per-node for multinode requests.</summary>
    public static int NodeCount(int gpuCount, GpuType type) =>
        type.IsCpuOnly || gpuCount <= type.GpusPerNode ? 1 : gpuCount / type.GpusPerNode;

    public static IReadOnlyList<RuleViolation> Validate(ReservationRequest request, GpuCatalog catalog)
    {
        var errors = new List<RuleViolation>();
        var type = catalog.Find(request.GpuType);
        if (type is null)
        {
            errors.Add(new("unknown-gpu-type", "gpuType",
                $"GPU type '{request.GpuType}' is not offered; valid types: {string.Join(", ", catalog.Names)}."));
        }
        else
        {
            ValidateGpuCount(request, type, errors);
            ValidateNsight(request, type, errors);
            ValidateDiskOnMultinode(request, type, errors);
        }

        if (double.IsNaN(request.Hours) || request.Hours < MinHours || request.Hours > MaxHours)
        {
            errors.Add(new("invalid-hours", "hours",
                $"Duration must be between {MinHours.ToString(CultureInfo.InvariantCulture)} (5 minutes) and {MaxHours.ToString(CultureInfo.InvariantCulture)} hours; got {request.Hours.ToString(CultureInfo.InvariantCulture)}."));
        }

        if (request.Name is not null && !IsValidName(request.Name))
        {
            errors.Add(new("invalid-name", "name",
                $"Name must be 1-{MaxNameLength} characters of letters, digits, '.', '_' or '-', starting with a letter or digit."));
        }

        ValidateStorage(request, errors);
        ValidateImage(request, errors);
        ValidateNodeLabels(request, errors);
        return errors;
    }

    private static void ValidateGpuCount(ReservationRequest request, GpuType type, List<RuleViolation> errors)
    {
        var count = EffectiveGpuCount(request, type);
        if (type.IsCpuOnly)
        {
            if (count != 0)
            {
                errors.Add(new("gpu-count-for-cpu-type", "gpuCount",
                    $"GPU type '{type.Name}' is CPU-only and takes 0 GPUs; got {count}."));
            }

            return;
        }

        if (!AllowedGpuCounts.Contains(count))
        {
            errors.Add(new("invalid-gpu-count", "gpuCount",
                $"GPU count must be one of {AllowedGpuCountsText}; got {count}."));
            return;
        }

        if (count > type.GpusPerNode)
        {
            if (count % type.GpusPerNode != 0)
            {
                errors.Add(new("multinode-not-multiple", "gpuCount",
                    $"More GPUs than one {type.Name} node holds ({type.GpusPerNode}) must be a multiple of {type.GpusPerNode}; got {count}."));
            }
            else if (!request.Distributed)
            {
                errors.Add(new("distributed-required", "distributed",
                    $"{count} {type.Name} GPUs span {count / type.GpusPerNode} nodes of {type.GpusPerNode}; multinode reservations need --distributed."));
            }
        }
    }

    /// <summary>Counts an <c>nsight=true</c> request may ask for: whole nodes of its type (multiples of GPUs-per-node).</summary>
    public static IReadOnlyList<int> WholeNodeCounts(GpuType type) =>
        type.IsCpuOnly ? [] : [.. AllowedGpuCounts.Where(c => c % type.GpusPerNode == 0)];

    /// <summary><c>nsight=true</c> gives the container CAP_SYS_ADMIN (perf counters, BPF, mounts), which reaches
    /// every process on the node: it is allowed only when the reservation has the node(s) to itself.</summary>
    private static void ValidateNsight(ReservationRequest request, GpuType type, List<RuleViolation> errors)
    {
        var nsight = request.NodeLabels is { } labels && labels.TryGetValue("nsight", out var value) && string.Equals(value, "true", StringComparison.OrdinalIgnoreCase);
        if (!nsight)
        {
            return;
        }

        var count = EffectiveGpuCount(request, type);
        var whole = WholeNodeCounts(type);
        if (!whole.Contains(count))
        {
            errors.Add(new("nsight-needs-whole-node", "nodeLabels", whole.Count == 0
                ? $"nsight=true needs whole GPU nodes (it grants SYS_ADMIN on the node); {type.Name} is CPU-only."
                : $"nsight=true needs whole {type.Name} nodes (it grants SYS_ADMIN on the node): GPU count must be one of {string.Join(", ", whole)}; got {count}."));
        }
    }

    /// <summary>A named disk is one volume for one node: a multinode request with one is refused now rather than queued
    /// and failed at provisioning.</summary>
    private static void ValidateDiskOnMultinode(ReservationRequest request, GpuType type, List<RuleViolation> errors)
    {
        var count = EffectiveGpuCount(request, type);
        if (request.Disk is { } disk && disk != "none" && !request.NoPersist && !type.IsCpuOnly && count > type.GpusPerNode && count % type.GpusPerNode == 0)
        {
            errors.Add(new("disk-on-multinode", "disk",
                $"Named disks cannot be attached to multinode reservations yet ({count} {type.Name} GPUs need {count / type.GpusPerNode} nodes); "
                + "reserve with --disk none (each node gets a temporary home) or with at most one node's GPUs."));
        }
    }

    private static void ValidateStorage(ReservationRequest request, List<RuleViolation> errors)
    {
        if (request.RecreateEnv && (request.Disk is null or "none" || request.NoPersist))
        {
            errors.Add(new("conflicting-options", "recreateEnv", "--recreate-env needs --disk NAME: it re-creates the shell dotfiles on that disk."));
        }

        if (request.Disk is null)
        {
            return;
        }

        if (!string.Equals(request.Disk, "none", StringComparison.Ordinal) && !Disks.DiskRules.IsValidName(request.Disk))
        {
            errors.Add(new("invalid-disk-name", "disk",
                $"{Disks.DiskRules.NameRule} (or 'none' for temporary storage); got '{(request.Disk.Length > 70 ? request.Disk[..70] + "…" : request.Disk)}'."));
        }
        else if (request.NoPersist && !string.Equals(request.Disk, "none", StringComparison.Ordinal))
        {
            errors.Add(new("conflicting-options", "noPersist",
                $"--no-persist asks for a temporary home, --disk {request.Disk} for a persistent one; give only one."));
        }
    }

    private static void ValidateImage(ReservationRequest request, List<RuleViolation> errors)
    {
        if (request.DockerImage is not null && request.Dockerfile is not null)
        {
            errors.Add(new("conflicting-options", "dockerImage", "Give either --dockerimage or --dockerfile, not both."));
        }

        if (request.Dockerfile is not null && Encoding.UTF8.GetByteCount(request.Dockerfile) > MaxDockerfileBytes)
        {
            errors.Add(new("dockerfile-too-large", "dockerfile",
                $"Dockerfile must be at most 512 KB ({MaxDockerfileBytes} bytes); got {Encoding.UTF8.GetByteCount(request.Dockerfile)} bytes."));
        }

        if (request.DockerImage is not null && (request.DockerImage.Length is 0 or > 512 || !ImageReference().IsMatch(request.DockerImage)))
        {
            errors.Add(new("invalid-docker-image", "dockerImage",
                "Docker image must be a reference such as 'pytorch/pytorch:2.3.0-cuda12.1-cudnn8-devel' (letters, digits, '.', '_', '-', '/', ':', '@')."));
        }

        if (request.BuildContext is not null && (request.Dockerfile is null || !BuildContexts.IsValidId(request.BuildContext)))
        {
            errors.Add(new("invalid-build-context", "buildContext",
                "A build context goes with --dockerfile and is the SHA-256 (64 lowercase hex characters) of the uploaded context."));
        }

        if (request.PreserveEntrypoint && request.DockerImage is null && request.Dockerfile is null)
        {
            errors.Add(new("conflicting-options", "preserveEntrypoint", "--preserve-entrypoint needs --dockerimage or --dockerfile."));
        }

        if (request.PreserveEntrypoint && request.Jupyter)
        {
            // gpu-dev's entry is what starts Jupyter; with the image's own command nothing would, so say so before anything is made.
            errors.Add(new("conflicting-options", "jupyter",
                "--jupyter needs gpu-dev's entry, which starts Jupyter; with --preserve-entrypoint the image's own command runs instead: drop one of them (start Jupyter yourself in the image)."));
        }
    }

    private static void ValidateNodeLabels(ReservationRequest request, List<RuleViolation> errors)
    {
        foreach (var (key, value) in request.NodeLabels ?? new Dictionary<string, string>())
        {
            if (!LabelKey().IsMatch(key) || key.Length > 253 || !LabelValue().IsMatch(value) || value.Length > 63)
            {
                errors.Add(new("invalid-node-label", "nodeLabels",
                    $"Node label '{key}={value}' is not a valid Kubernetes label (key: [prefix/]name of letters, digits, '-', '_', '.'; value: up to 63 such characters)."));
            }
        }
    }

    public static bool IsValidName(string name) => name.Length is > 0 and <= MaxNameLength && NamePattern().IsMatch(name);

    public static bool IsValidDiskName(string name) => Disks.DiskRules.IsValidName(name);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*\\z")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._/:@-]*\\z")]
    private static partial Regex ImageReference();

    [GeneratedRegex("^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?\\z")]
    private static partial Regex LabelKey();

    [GeneratedRegex("^([A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)?\\z")]
    private static partial Regex LabelValue();
}
