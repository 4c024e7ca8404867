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

    public Queue<string> Answers { get; } = new();

    public List<string> Questions { get; } = [];

    /// <summary>Sees the choices of every selection prompt.</summary>
    public Action<IReadOnlyList<string>>? OnSelect { get; set; }

    public bool Confirm(string question, bool defaultValue)
    {
        Questions.Add(question);
        return Answers.Count > 0 ? Answers.Dequeue() == "y" : defaultValue;
    }

    public string Select(string title, IReadOnlyList<string> choices)
    {
        Questions.Add(title);
        OnSelect?.Invoke(choices);
        var answer = Answers.Dequeue();
        return choices.First(c => c.StartsWith(answer, StringComparison.Ordinal));
    }

    public string Ask(string question, string? defaultValue)
    {
        Questions.Add(question);
        var answer = Answers.Count > 0 ? Answers.Dequeue() : string.Empty;
        return answer.Length == 0 ? defaultValue ?? string.Empty : answer;
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
