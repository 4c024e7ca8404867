using Spectre.Console;

namespace GpuDev.Cli.Output;

/// <summary>The real console: separate Spectre consoles for stdout and stderr, with Spectre's own colour detection.</summary>
internal sealed class SystemConsoleOutput : IConsoleOutput
{
    private readonly Lazy<IAnsiConsole> _out;
    private readonly Lazy<IAnsiConsole> _error;

    public SystemConsoleOutput()
    {
        _out = new Lazy<IAnsiConsole>(() => Create(Console.Out));
        _error = new Lazy<IAnsiConsole>(() => Create(Console.Error));
    }

    /// <summary>Spectre detects TTY and NO_COLOR itself; we add CLICOLOR=0 (off) and CLICOLOR_FORCE=1 (on).</summary>
    private static IAnsiConsole Create(TextWriter writer)
    {
        var settings = new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer) };
        if (Environment.GetEnvironmentVariable("CLICOLOR_FORCE") is { Length: > 0 } force && force != "0")
        {
            settings.Ansi = AnsiSupport.Yes;
            settings.ColorSystem = ColorSystemSupport.Standard;
        }
        else if (Environment.GetEnvironmentVariable("CLICOLOR") == "0")
        {
            settings.ColorSystem = ColorSystemSupport.NoColors;
        }

        return AnsiConsole.Create(settings);
    }

    public TextWriter Out => Console.Out;

    public TextWriter Error => Console.Error;

    public bool IsOutputTty => !Console.IsOutputRedirected;

    public bool IsErrorTty => !Console.IsErrorRedirected;

    public bool IsInputTty => !Console.IsInputRedirected;

    public IAnsiConsole OutConsole => _out.Value;

    public IAnsiConsole ErrorConsole => _error.Value;

    // The prompts poll keys and watch the token; blocking on them here is safe (a console app has no
    // synchronization context), and keeps the commands' prompt code sequential.
    private TerminalPrompts Prompts => new(ErrorConsole, ErrorConsole.Input);

    public bool Confirm(string question, bool defaultValue, CancellationToken cancellationToken) =>
        Prompts.ConfirmAsync(question, defaultValue, cancellationToken).GetAwaiter().GetResult();

    public int Select(string title, IReadOnlyList<string> choices, CancellationToken cancellationToken, MenuRefresh? refresh = null) =>
        Prompts.SelectAsync(title, choices, refresh, cancellationToken).GetAwaiter().GetResult();

    public string Ask(string question, string? defaultValue, CancellationToken cancellationToken) =>
        Prompts.AskAsync(question, defaultValue, cancellationToken).GetAwaiter().GetResult();

    public void ClearScreen() => OutConsole.Clear(home: true);
}
