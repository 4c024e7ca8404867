namespace GpuDev.Core.Reservations;

/// <summary>A broken rule: a stable code, the field it concerns, and a message naming the valid values.</summary>
public sealed record RuleViolation(string Code, string Field, string Message);
