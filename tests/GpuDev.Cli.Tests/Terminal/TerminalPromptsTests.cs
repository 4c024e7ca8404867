using System.Collections.Concurrent;
using System.Diagnostics;
using GpuDev.Cli.Output;
using Spectre.Console;

namespace GpuDev.Cli.Tests.Terminal;

/// <summary>The terminal prompts with scripted keys and an ANSI console writing to a string.</summary>
public sealed class TerminalPromptsTests
{
    private const string HideCursor = "\u001b[?25l";
    private const string ShowCursor = "\u001b[?25h";

    private readonly StringWriter _screen = new();
    private readonly ScriptedKeys _keys = new();
    private readonly TerminalPrompts _prompts;

    public TerminalPromptsTests()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.Yes,
            Out = new AnsiConsoleOutput(_screen),
        });
        console.Profile.Width = 100;
        console.Profile.Height = 30;
        _prompts = new TerminalPrompts(console, _keys);
    }

    private string Screen => _screen.ToString();

    private void AssertCursorShown()
    {
        Assert.Contains(HideCursor, Screen, StringComparison.Ordinal);
        Assert.True(Screen.LastIndexOf(ShowCursor, StringComparison.Ordinal) > Screen.LastIndexOf(HideCursor, StringComparison.Ordinal),
            "the menu left the cursor hidden");
    }

    [Fact]
    public async Task Select_DownDownEnter_ReturnsThirdAndShowsTheCursorAgain()
    {
        _keys.Press(ConsoleKey.DownArrow, ConsoleKey.DownArrow, ConsoleKey.Enter);

        var chosen = await _prompts.SelectAsync("Pick", ["a", "b", "c", "d"], null, CancellationToken.None);

        Assert.Equal(2, chosen);
        Assert.Contains("> c", Screen, StringComparison.Ordinal);
        Assert.Contains(TerminalPrompts.MenuHint, Screen, StringComparison.Ordinal);
        AssertCursorShown();
    }

    [Theory]
    [InlineData(ConsoleKey.Escape, '\u001b', false)]
    [InlineData(ConsoleKey.Q, 'q', false)]
    [InlineData(ConsoleKey.C, '\u0003', true)]
    public async Task Select_EscQOrCtrlCKey_BacksOut(ConsoleKey key, char keyChar, bool control)
    {
        _keys.Press(ConsoleKey.DownArrow);
        _keys.Press(new ConsoleKeyInfo(keyChar, key, false, false, control));
        _keys.Press(ConsoleKey.Enter); // a stray Enter after backing out picks nothing

        await Assert.ThrowsAsync<PromptCancelledException>(() => _prompts.SelectAsync("Pick", ["a", "b"], null, CancellationToken.None));

        Assert.Equal(1, _keys.Left);
        AssertCursorShown();
    }

    [Fact]
    public async Task Select_InterruptWhileOpen_EndsWithinASecond()
    {
        using var interrupt = new CancellationTokenSource();
        var menu = _prompts.SelectAsync("Pick", ["a", "b"], null, interrupt.Token);
        await Task.Delay(200);
        Assert.False(menu.IsCompleted);
        Assert.Contains("> a", Screen, StringComparison.Ordinal); // drawn before any key

        var clock = Stopwatch.StartNew();
        await interrupt.CancelAsync();
        await Assert.ThrowsAsync<PromptCancelledException>(() => menu);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"the menu took {clock.Elapsed} to end");
        AssertCursorShown();
    }

    [Fact]
    public async Task Select_AlreadyInterrupted_DrawsNothing()
    {
        _keys.Press(ConsoleKey.Enter);

        await Assert.ThrowsAsync<PromptCancelledException>(() => _prompts.SelectAsync("Pick", ["a"], null, new CancellationToken(canceled: true)));

        Assert.Empty(Screen);
        Assert.Equal(1, _keys.Left);
    }

    [Fact]
    public async Task Select_Refresh_RedrawsWithNewLabelsKeepsTheHighlight()
    {
        var calls = 0;
        var refresh = new MenuRefresh(TimeSpan.FromMilliseconds(20), _ =>
        {
            var call = Interlocked.Increment(ref calls);
            return Task.FromResult<IReadOnlyList<string>?>(call switch
            {
                1 => throw new HttpRequestException("server away"), // kept: the menu shows what it had
                2 => ["only one"],                                   // wrong count: ignored
                _ => ["h100  16/16 free", "t4  4/4 free"],
            });
        });
        _keys.Press(ConsoleKey.DownArrow);
        _keys.Press(ConsoleKey.Enter);
        _keys.Ready = () => Volatile.Read(ref calls) >= 4; // the third (good) labels are drawn before the fourth fetch

        var chosen = await _prompts.SelectAsync("GPU type?", ["h100  0/16 free", "t4  0/4 free"], refresh, CancellationToken.None);

        Assert.Equal(1, chosen);
        Assert.Contains("> t4  4/4 free", Screen, StringComparison.Ordinal);
        Assert.DoesNotContain("only one", Screen, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Select_LongMenu_ScrollsAPageAtATime()
    {
        var items = Enumerable.Range(0, 40).Select(i => $"item {i}").ToList();
        _keys.Press(ConsoleKey.End);
        _keys.Press(ConsoleKey.PageUp);
        _keys.Press(ConsoleKey.Enter);

        var chosen = await _prompts.SelectAsync("Pick", items, null, CancellationToken.None);

        Assert.Equal(39 - TerminalPrompts.PageSize, chosen);
        Assert.Contains("> item 39", Screen, StringComparison.Ordinal);
        Assert.Contains(TerminalPrompts.MoreHint, Screen, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("y\r", false, true)]
    [InlineData("YES\r", false, true)]
    [InlineData("n\r", true, false)]
    [InlineData("\r", true, true)]
    [InlineData("\r", false, false)]
    [InlineData("\u001b", true, false)]
    [InlineData("x\rn\r", true, false)]
    public async Task Confirm_Answers(string typed, bool defaultValue, bool expected)
    {
        _keys.Type(typed);

        var answer = await _prompts.ConfirmAsync("Cancel reservation abcdef12?", defaultValue, CancellationToken.None);

        Assert.Equal(expected, answer);
        Assert.Contains($"Cancel reservation abcdef12? [y/n] ({(defaultValue ? "y" : "n")}): ", Screen, StringComparison.Ordinal);
        Assert.Equal(typed.StartsWith('x'), Screen.Contains("please answer y or n", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Confirm_CtrlCKey_Cancels()
    {
        _keys.Press(new ConsoleKeyInfo('\u0003', ConsoleKey.C, false, false, true));
        _keys.Type("y\r");

        await Assert.ThrowsAsync<PromptCancelledException>(() => _prompts.ConfirmAsync("Sure?", false, CancellationToken.None));
        Assert.Equal(2, _keys.Left);
    }

    [Theory]
    [InlineData("2.5\r", "1", "2.5")]
    [InlineData("2x\b\r", "1", "2")]
    [InlineData("\r", "1", "1")]
    [InlineData("  \r", null, "")]
    public async Task Ask_TypedLine(string typed, string? defaultValue, string expected)
    {
        _keys.Type(typed);

        var answer = await _prompts.AskAsync("Hours?", defaultValue, CancellationToken.None);

        Assert.Equal(expected, answer);
    }

    [Fact]
    public async Task AnswersTakenWithoutTyping_AreWrittenOut()
    {
        _keys.Type("\r\u001b\r");

        Assert.Equal("1", await _prompts.AskAsync("Hours?", "1", CancellationToken.None));
        Assert.False(await _prompts.ConfirmAsync("Jupyter?", false, CancellationToken.None));
        Assert.True(await _prompts.ConfirmAsync("Sure?", true, CancellationToken.None));

        Assert.Equal(string.Join(Environment.NewLine, "Hours? (1): 1", "Jupyter? [y/n] (n): n", "Sure? [y/n] (y): y", string.Empty), Screen);
    }

    [Fact]
    public async Task Ask_Esc_Cancels()
    {
        _keys.Type("2\u001b\r");

        await Assert.ThrowsAsync<PromptCancelledException>(() => _prompts.AskAsync("Hours?", "1", CancellationToken.None));
        Assert.Equal(1, _keys.Left);
    }

    [Fact]
    public async Task Ask_InterruptWhileTyping_EndsWithinASecondOnANewLine()
    {
        using var interrupt = new CancellationTokenSource();
        _keys.Type("2");
        var ask = _prompts.AskAsync("Hours?", "1", interrupt.Token);
        await Task.Delay(200);

        var clock = Stopwatch.StartNew();
        await interrupt.CancelAsync();
        await Assert.ThrowsAsync<PromptCancelledException>(() => ask);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"the question took {clock.Elapsed} to end");
        Assert.EndsWith("Hours? (1): 2" + Environment.NewLine, Screen, StringComparison.Ordinal);
    }

    /// <summary>Keys pressed in advance; <see cref="Ready"/> can hold them back (e.g. until a refresh happened).</summary>
    private sealed class ScriptedKeys : IAnsiConsoleInput
    {
        private readonly ConcurrentQueue<ConsoleKeyInfo> _keys = new();

        public Func<bool> Ready { get; set; } = () => true;

        public int Left => _keys.Count;

        public void Press(params ConsoleKey[] keys)
        {
            foreach (var key in keys)
            {
                _keys.Enqueue(new ConsoleKeyInfo(key == ConsoleKey.Enter ? '\r' : '\0', key, false, false, false));
            }
        }

        public void Press(ConsoleKeyInfo key) => _keys.Enqueue(key);

        /// <summary>Characters as keys: \r is Enter, \b Backspace, \u001b Esc.</summary>
        public void Type(string text)
        {
            foreach (var c in text)
            {
                var key = c switch
                {
                    '\r' => ConsoleKey.Enter,
                    '\b' => ConsoleKey.Backspace,
                    '\u001b' => ConsoleKey.Escape,
                    _ when char.IsAsciiLetter(c) => ConsoleKey.A + (char.ToUpperInvariant(c) - 'A'),
                    _ when char.IsAsciiDigit(c) => ConsoleKey.D0 + (c - '0'),
                    '.' => ConsoleKey.OemPeriod,
                    ' ' => ConsoleKey.Spacebar,
                    _ => ConsoleKey.Oem1,
                };
                _keys.Enqueue(new ConsoleKeyInfo(c, key, char.IsAsciiLetterUpper(c), false, false));
            }
        }

        public bool IsKeyAvailable() => !_keys.IsEmpty && Ready();

        public ConsoleKeyInfo? ReadKey(bool intercept) => _keys.TryDequeue(out var key) ? key : null;

        public Task<ConsoleKeyInfo?> ReadKeyAsync(bool intercept, CancellationToken cancellationToken) => Task.FromResult(ReadKey(intercept));
    }
}
