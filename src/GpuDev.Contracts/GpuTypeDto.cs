namespace GpuDev.Contracts;

public sealed record GpuTypeDto(string Name, string InstanceType, int GpusPerNode, int MemoryGbPerGpu, string Description, bool CpuOnly);

/// <summary>Body of <c>GET /api/v1/gpu-types</c>: the catalog plus the request limits, for help texts and prompts.</summary>
public sealed record GpuTypesResponse(IReadOnlyList<GpuTypeDto> Types, IReadOnlyList<int> AllowedGpuCounts, double MinHours, double MaxHours);
