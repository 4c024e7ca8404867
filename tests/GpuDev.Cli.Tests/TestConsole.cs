using GpuDev.Cli.Output;
using Spectre.Console;

namespace GpuDev.Cli.Tests;

/// <summary>Captures stdout/stderr; TTY flags and prompt answers are set by the test.</summary>
internal sealed class TestConsole : IConsoleOutput
{
    private readonly StringWriter _out = new();
    private readonly StringWriter _err = new();

    public TestConsole(bool tty)
    {
        IsOutputTty = IsErrorTty = IsInputTty = tty;
        OutConsole = Create(_out);
        ErrorConsole = Create(_err);
    }

    public TextWriter Out => _out;

    public TextWriter Error => _err;

    public bool IsOutputTty { get; set; }

    public bool IsErrorTty { get; set; }

    public bool IsInputTty { get; set; }

    public IAnsiConsole OutConsole { get; }

    public IAnsiConsole ErrorConsole { get; }

    public string StdOut => _out.ToString();

    public string StdErr => _err.ToString();

    /// <summary>An answer that presses Ctrl+C at that prompt.</summary>
    public const string CtrlC = "<ctrl-c>";

    /// <summary>An answer that presses Esc at that prompt: "no" to a confirmation, backing out of anything else.</summary>
    public const string Esc = "<esc>";

    public Queue<string> Answers { get; } = new();

    public List<string> Questions { get; } = [];

    /// <summary>Sees the choices of every selection prompt.</summary>
    public Action<IReadOnlyList<string>>? OnSelect { get; set; }

    /// <summary>When set, a menu with live numbers fetches them this many times before it is answered; the labels
    /// of each fetch go to <see cref="Refreshed"/> (null: the menu kept what it showed).</summary>
    public int MenuRefreshes { get; set; }

    public List<IReadOnlyList<string>?> Refreshed { get; } = [];

    public bool Confirm(string question, bool defaultValue, CancellationToken cancellationToken)
    {
        Questions.Add(question);
        var answer = Next(cancellationToken);
        return answer == Esc ? false : answer is null ? defaultValue : answer == "y";
    }

    public int Select(string title, IReadOnlyList<string> choices, CancellationToken cancellationToken, MenuRefresh? refresh = null)
    {
        Questions.Add(title);
        OnSelect?.Invoke(choices);
        for (var i = 0; refresh is not null && i < MenuRefreshes; i++)
        {
            Refreshed.Add(refresh.Labels(cancellationToken).GetAwaiter().GetResult());
        }

        var answer = Next(cancellationToken) ?? throw new InvalidOperationException($"no answer queued for \"{title}\"");
        if (answer == Esc)
        {
            throw new PromptCancelledException();
        }

        var index = choices.ToList().FindIndex(c => c.StartsWith(answer, StringComparison.Ordinal));
        return index >= 0 ? index : throw new InvalidOperationException($"no choice of \"{title}\" starts with \"{answer}\"");
    }

    public string Ask(string question, string? defaultValue, CancellationToken cancellationToken)
    {
        Questions.Add(question);
        var answer = Next(cancellationToken) ?? string.Empty;
        if (answer == Esc)
        {
            throw new PromptCancelledException();
        }

        return answer.Length == 0 ? defaultValue ?? string.Empty : answer;
    }

    /// <summary>The next queued answer (null when none is left); Ctrl+C, queued or already pressed, ends the prompt
    /// as the real ones do.</summary>
    private string? Next(CancellationToken cancellationToken)
    {
        var answer = Answers.Count > 0 ? Answers.Dequeue() : null;
        if (answer == CtrlC || cancellationToken.IsCancellationRequested)
        {
            throw new PromptCancelledException();
        }

        return answer;
    }

    public void ClearScreen()
    {
    }

    private static IAnsiConsole Create(TextWriter writer)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 200;
        return console;
    }
}

internal sealed class TestEnvironment(Dictionary<string, string> variables, string home) : ICliEnvironment
{
    public Dictionary<string, string> Variables { get; } = variables;

    public string? GetVariable(string name) => Variables.TryGetValue(name, out var v) && v.Length > 0 ? v : null;

    public string HomeDirectory { get; } = home;
}
