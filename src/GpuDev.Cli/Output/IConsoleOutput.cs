using Spectre.Console;

namespace GpuDev.Cli.Output;

/// <summary>
/// The process's standard streams and what they are connected to. Commands write through this (never the static
/// <see cref="System.Console"/> or <see cref="AnsiConsole"/>), so tests can substitute a fake console.
/// </summary>
internal interface IConsoleOutput
{
    /// <summary>stdout: data.</summary>
    TextWriter Out { get; }

    /// <summary>stderr: progress, prompts, warnings, errors.</summary>
    TextWriter Error { get; }

    bool IsOutputTty { get; }

    bool IsErrorTty { get; }

    bool IsInputTty { get; }

    /// <summary>Spectre console writing to stdout (tables, colour only when stdout is a TTY and NO_COLOR is unset).</summary>
    IAnsiConsole OutConsole { get; }

    /// <summary>Spectre console writing to stderr (spinners, prompts).</summary>
    IAnsiConsole ErrorConsole { get; }

    /// <summary>Asks a yes/no question on stderr. Only called when prompting is allowed. Esc answers no.</summary>
    /// <exception cref="PromptCancelledException">Ctrl+C (<paramref name="cancellationToken"/>).</exception>
    bool Confirm(string question, bool defaultValue, CancellationToken cancellationToken);

    /// <summary>Lets the user pick one of <paramref name="choices"/>; returns its index. With <paramref name="refresh"/>
    /// the labels are redrawn while the menu is open.</summary>
    /// <exception cref="PromptCancelledException">Ctrl+C (<paramref name="cancellationToken"/>), Esc or q.</exception>
    int Select(string title, IReadOnlyList<string> choices, CancellationToken cancellationToken, MenuRefresh? refresh = null);

    /// <summary>Asks for a line of text; an empty answer returns <paramref name="defaultValue"/>.</summary>
    /// <exception cref="PromptCancelledException">Ctrl+C (<paramref name="cancellationToken"/>) or Esc.</exception>
    string Ask(string question, string? defaultValue, CancellationToken cancellationToken);

    /// <summary>Clears the terminal (stdout), for <c>--watch</c>.</summary>
    void ClearScreen();
}
