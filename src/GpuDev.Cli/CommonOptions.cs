using System.CommandLine;

namespace GpuDev.Cli;

/// <summary>Options shared by several commands (each command gets its own instance).</summary>
internal static class CommonOptions
{
    public static Option<bool> Json() => new("--json") { Description = "Print the result as JSON (Contracts DTOs, camelCase) to stdout" };

    public static Option<bool> Yes() => new("--yes", "-y") { Description = "Do not ask for confirmation (required without a terminal)" };

    public static Argument<string> ReservationId(string description = "Reservation ID or a unique prefix of it (at least 4 characters)") =>
        new("RESERVATION_ID") { Arity = ArgumentArity.ZeroOrOne, Description = description };
}
