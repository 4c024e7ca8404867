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

    public bool Confirm(string question, bool defaultValue) =>
        ErrorConsole.Prompt(new ConfirmationPrompt(Markup.Escape(question)) { DefaultValue = defaultValue });

    public string Select(string title, IReadOnlyList<string> choices) =>
        ErrorConsole.Prompt(new SelectionPrompt<string>()
            .Title(Markup.Escape(title))
            .PageSize(15)
            .UseConverter(Markup.Escape)
            .AddChoices(choices));

    public string Ask(string question, string? defaultValue)
    {
        var prompt = new TextPrompt<string>(Markup.Escape(question)) { AllowEmpty = true };
        if (defaultValue is not null)
        {
            prompt.DefaultValue(defaultValue);
        }

        var answer = ErrorConsole.Prompt(prompt);
        return string.IsNullOrWhiteSpace(answer) ? defaultValue ?? string.Empty : answer.Trim();
    }

    public void ClearScreen() => OutConsole.Clear(home: true);
}
