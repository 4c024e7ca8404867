using System.Diagnostics;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace GpuDev.Cli.Output;

/// <summary>The user backed out of a prompt: Ctrl+C at any prompt, Esc or q in a menu, Esc at a text question.
/// Commands ask everything before they change anything, so <see cref="Commands.CommandRunner"/> ends the command with
/// exit code 2 and "cancelled; nothing was changed".</summary>
internal sealed class PromptCancelledException : Exception
{
    public PromptCancelledException()
        : base("cancelled at a prompt")
    {
    }

    public PromptCancelledException(string message)
        : base(message)
    {
    }

    public PromptCancelledException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Redraws an open menu with new labels every <paramref name="Every"/>: <paramref name="Labels"/> returns
/// one label per choice, same count and order (or null to keep the shown ones, e.g. when the server did not answer).</summary>
internal sealed record MenuRefresh(TimeSpan Every, Func<CancellationToken, Task<IReadOnlyList<string>?>> Labels);

/// <summary>The interactive prompts on a terminal: a menu, a yes/no question and a line of text, drawn with Spectre
/// and read key by key from <paramref name="keys"/>. Unlike Spectre's own prompts they watch the interrupt token
/// (the first Ctrl+C ends them within a poll interval) and take Esc (and q in menus) as "back out"; they never leave
/// the cursor hidden. Keys are polled, never awaited in a blocking read, so an interrupt is seen at once.</summary>
internal sealed class TerminalPrompts(IAnsiConsole console, IAnsiConsoleInput keys)
{
    public const int PageSize = 15;
    public const string MenuHint = "(↑/↓ to move, Enter to choose, Esc to cancel)";
    public const string MoreHint = "(move up and down to reveal more choices)";

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(15);

    /// <summary>Shows <paramref name="choices"/> with the first one highlighted; returns the index chosen with Enter.</summary>
    /// <exception cref="PromptCancelledException">Ctrl+C (the token), Esc or q.</exception>
    public async Task<int> SelectAsync(string title, IReadOnlyList<string> choices, MenuRefresh? refresh, CancellationToken cancellationToken)
    {
        if (choices.Count == 0)
        {
            throw new ArgumentException("a menu needs at least one choice", nameof(choices));
        }

        ThrowIfInterrupted(cancellationToken);
        var menu = new MenuState([.. choices]);
        using var stopRefresh = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task<IReadOnlyList<string>?>? pending = null;
        var nextRefresh = refresh is null ? long.MaxValue : Stopwatch.GetTimestamp() + Ticks(refresh.Every);
        var chosen = await console.Live(Render(title, menu)).AutoClear(true).StartAsync(async live =>
        {
            live.Refresh(); // Live draws only when told to
            while (!cancellationToken.IsCancellationRequested)
            {
                if (pending is { IsCompleted: true })
                {
                    if (pending.IsCompletedSuccessfully && pending.Result is { } fresh && fresh.Count == menu.Labels.Length)
                    {
                        menu.Labels = [.. fresh];
                        live.UpdateTarget(Render(title, menu));
                    }

                    _ = pending.Exception; // a failed refresh keeps the shown labels
                    pending = null;
                    nextRefresh = Stopwatch.GetTimestamp() + Ticks(refresh!.Every);
                }

                if (pending is null && Stopwatch.GetTimestamp() >= nextRefresh)
                {
                    pending = Task.Run(() => refresh!.Labels(stopRefresh.Token), CancellationToken.None);
                }

                if (ReadKey() is not { } key)
                {
                    await Task.Delay(Poll, CancellationToken.None).ConfigureAwait(false);
                    continue;
                }

                if (IsInterrupt(key) || key.Key == ConsoleKey.Escape || key.KeyChar is 'q' or 'Q')
                {
                    return -1;
                }

                if (key.Key is ConsoleKey.Enter or ConsoleKey.Spacebar)
                {
                    return menu.Index;
                }

                if (menu.Move(key.Key, key.KeyChar, PageSizeFor(menu.Labels.Length)))
                {
                    live.UpdateTarget(Render(title, menu));
                }
            }

            return -1;
        }).ConfigureAwait(false);

        await stopRefresh.CancelAsync().ConfigureAwait(false);
        return chosen >= 0 ? chosen : throw new PromptCancelledException();
    }

    /// <summary>"Question? [y/n] (n): "; y/yes or n/no (any case), Enter takes the default and Esc answers no.</summary>
    /// <exception cref="PromptCancelledException">Ctrl+C.</exception>
    public async Task<bool> ConfirmAsync(string question, bool defaultValue, CancellationToken cancellationToken)
    {
        var shown = defaultValue ? "y" : "n";
        var prompt = $"{Markup.Escape(question)} [blue][[y/n]][/] [green]({shown})[/]: ";
        while (true)
        {
            var answer = await ReadLineAsync(prompt, shown, "n", cancellationToken).ConfigureAwait(false);
            switch (answer?.Trim().ToLowerInvariant())
            {
                case null:
                    return false;
                case "":
                    return defaultValue;
                case "y" or "yes":
                    return true;
                case "n" or "no":
                    return false;
                default:
                    console.MarkupLine("[red]please answer y or n (Esc for no)[/]");
                    break;
            }
        }
    }

    /// <summary>"Question? (default): "; an empty answer returns <paramref name="defaultValue"/> (or "").</summary>
    /// <exception cref="PromptCancelledException">Ctrl+C or Esc.</exception>
    public async Task<string> AskAsync(string question, string? defaultValue, CancellationToken cancellationToken)
    {
        var prompt = Markup.Escape(question) + (string.IsNullOrEmpty(defaultValue) ? " " : $" [green]({Markup.Escape(defaultValue)})[/]: ");
        var answer = await ReadLineAsync(prompt, defaultValue, null, cancellationToken).ConfigureAwait(false) ?? throw new PromptCancelledException();
        return string.IsNullOrWhiteSpace(answer) ? defaultValue ?? string.Empty : answer.Trim();
    }

    /// <summary>The menu's lines: the title, a blank line, up to a page of choices ("> " marks the current one), and
    /// the keys.</summary>
    internal IRenderable Render(string title, MenuState menu)
    {
        var pageSize = PageSizeFor(menu.Labels.Length);
        var top = menu.Top(pageSize);
        var grid = new Grid();
        grid.AddColumn(new GridColumn().Padding(0, 0, 1, 0).NoWrap());
        for (var i = top; i < Math.Min(menu.Labels.Length, top + pageSize); i++)
        {
            grid.AddRow(i == menu.Index
                ? new Markup("> " + Markup.Escape(menu.Labels[i]), new Style(Color.Blue))
                : new Markup("  " + Markup.Escape(menu.Labels[i])));
        }

        List<IRenderable> lines = [new Markup(Markup.Escape(title)), Text.Empty, grid, Text.Empty];
        if (menu.Labels.Length > pageSize)
        {
            lines.Add(new Markup($"[grey]{MoreHint}[/]"));
        }

        lines.Add(new Markup($"[grey]{Markup.Escape(MenuHint)}[/]"));
        return new Rows(lines);
    }

    /// <summary>Up to <see cref="PageSize"/> choices, fewer when the terminal is short: the title, two blank lines,
    /// the hints and the line the cursor rests on take the rest.</summary>
    private int PageSizeFor(int count)
    {
        var size = Math.Min(Math.Min(PageSize, count), console.Profile.Height - 5);
        return Math.Max(1, size < count ? Math.Min(size, console.Profile.Height - 6) : size);
    }

    /// <summary>A line typed after <paramref name="promptMarkup"/>, echoed as typed (Backspace erases); null for Esc.
    /// The answer taken without typing is written out (<paramref name="shownWhenEmpty"/> for Enter on an empty line,
    /// <paramref name="shownOnEsc"/> for Esc), so that the screen keeps a record of every answer.</summary>
    private async Task<string?> ReadLineAsync(string promptMarkup, string? shownWhenEmpty, string? shownOnEsc, CancellationToken cancellationToken)
    {
        ThrowIfInterrupted(cancellationToken);
        console.Markup(promptMarkup);
        var text = new System.Text.StringBuilder();
        while (true)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                console.WriteLine();
                throw new PromptCancelledException();
            }

            if (ReadKey() is not { } key)
            {
                await Task.Delay(Poll, CancellationToken.None).ConfigureAwait(false);
                continue;
            }

            if (IsInterrupt(key))
            {
                console.WriteLine();
                throw new PromptCancelledException();
            }

            switch (key.Key)
            {
                case ConsoleKey.Enter:
                    console.WriteLine(text.Length == 0 ? shownWhenEmpty ?? string.Empty : string.Empty);
                    return text.ToString();
                case ConsoleKey.Escape:
                    console.WriteLine(shownOnEsc ?? string.Empty);
                    return null;
                case ConsoleKey.Backspace when text.Length > 0:
                    text.Length--;
                    console.Write(new ControlCode("\b \b"));
                    break;
                default:
                    if (!char.IsControl(key.KeyChar))
                    {
                        text.Append(key.KeyChar);
                        console.Write(new Text(key.KeyChar.ToString()));
                    }

                    break;
            }
        }
    }

    private ConsoleKeyInfo? ReadKey() => keys.IsKeyAvailable() ? keys.ReadKey(intercept: true) : null;

    /// <summary>Ctrl+C delivered as a key (when the terminal does not turn it into SIGINT).</summary>
    private static bool IsInterrupt(ConsoleKeyInfo key) =>
        key.KeyChar == '\u0003' || (key.Key == ConsoleKey.C && key.Modifiers.HasFlag(ConsoleModifiers.Control));

    private static void ThrowIfInterrupted(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            throw new PromptCancelledException();
        }
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    /// <summary>The labels shown and the highlighted one; moves without wrapping around.</summary>
    internal sealed class MenuState(string[] labels)
    {
        private int _top;

        public string[] Labels { get; set; } = labels;

        public int Index { get; private set; }

        /// <summary>Up/Down (or k/j), Home/End, PageUp/PageDown; true when the highlight moved.</summary>
        public bool Move(ConsoleKey key, char keyChar, int pageSize)
        {
            var index = key switch
            {
                ConsoleKey.UpArrow => Index - 1,
                ConsoleKey.DownArrow => Index + 1,
                ConsoleKey.Home => 0,
                ConsoleKey.End => Labels.Length - 1,
                ConsoleKey.PageUp => Index - pageSize,
                ConsoleKey.PageDown => Index + pageSize,
                _ => keyChar switch
                {
                    'k' => Index - 1,
                    'j' => Index + 1,
                    _ => Index,
                },
            };
            index = Math.Clamp(index, 0, Labels.Length - 1);
            var moved = index != Index;
            Index = index;
            return moved;
        }

        /// <summary>The first shown choice: the page scrolls only as far as needed to keep the highlight on it.</summary>
        public int Top(int pageSize)
        {
            if (Index < _top)
            {
                _top = Index;
            }
            else if (Index >= _top + pageSize)
            {
                _top = Index - pageSize + 1;
            }

            _top = Math.Clamp(_top, 0, Math.Max(0, Labels.Length - pageSize));
            return _top;
        }
    }
}
