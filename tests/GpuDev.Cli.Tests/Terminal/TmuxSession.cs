using System.Diagnostics;

namespace GpuDev.Cli.Tests.Terminal;

/// <summary>Runs one command in a detached tmux session (a real pseudo-terminal, 120×40) on a private tmux socket,
/// so a test can type keys and read the screen. The pane stays after the command exits and shows "[exit N]".</summary>
internal sealed class TmuxSession : IDisposable
{
    private readonly string _socket = "gpu-dev-test-" + Guid.NewGuid().ToString("N")[..12];

    public TmuxSession(string shellCommand)
    {
        Tmux("-f", "/dev/null", "new-session", "-d", "-x", "120", "-y", "40", "-s", "t",
            $"{shellCommand}; echo \"[exit $?]\"; sleep 600");
    }

    public static bool IsAvailable
    {
        get
        {
            try
            {
                using var p = Process.Start(new ProcessStartInfo("tmux", "-V") { RedirectStandardOutput = true, RedirectStandardError = true });
                p!.WaitForExit(5000);
                return p.ExitCode == 0;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                return false;
            }
        }
    }

    public string Screen() => Tmux("capture-pane", "-p", "-t", "t");

    /// <summary>Waits until the screen shows <paramref name="text"/>; fails with the screen's content after the timeout.</summary>
    public async Task<string> WaitForAsync(string text, int timeoutSeconds = 30)
    {
        var deadline = Stopwatch.StartNew();
        string screen;
        do
        {
            screen = Screen();
            if (screen.Contains(text, StringComparison.Ordinal))
            {
                return screen;
            }

            await Task.Delay(50);
        }
        while (deadline.Elapsed < TimeSpan.FromSeconds(timeoutSeconds));

        Assert.Fail($"timed out after {timeoutSeconds}s waiting for \"{text}\" on the terminal; it shows:\n{screen}\n{Diagnostics()}");
        return screen;
    }

    /// <summary>What a hang leaves to look at: the terminal's settings (echo, canonical mode, signals) and every process on
    /// it with its state and the kernel function it waits in, and the threads of each.</summary>
    private string Diagnostics()
    {
        try
        {
            var tty = Tmux("display-message", "-p", "-t", "t", "#{pane_tty}").Trim();
            var script = $"stty -a < '{tty}'; ps -t '{tty[5..]}' -o pid,stat,wchan:32,etime,args; "
                + $"for p in $(ps -t '{tty[5..]}' -o pid=); do echo \"threads of $p:\"; for t in /proc/$p/task/*; do "
                + "echo \"  $(cat $t/comm) $(awk '{print $3}' $t/stat) $(cat $t/wchan)\"; done; done";
            var start = new ProcessStartInfo("sh", ["-c", script]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(start)!;
            var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            return "diagnostics:\n" + output;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return "diagnostics failed: " + e.Message;
        }
    }

    /// <summary>Whether the terminal shows its cursor (a menu hides it while open).</summary>
    public bool CursorVisible => Tmux("display-message", "-p", "-t", "t", "#{cursor_flag}").Trim() == "1";

    /// <summary>Named keys (Down, Enter, Up, C-c, Escape, ...).</summary>
    public void Keys(params string[] keys) => Tmux(["send-keys", "-t", "t", .. keys]);

    /// <summary>Literal text, without Enter.</summary>
    public void Type(string text) => Tmux("send-keys", "-t", "t", "-l", text);

    public void Dispose()
    {
        try
        {
            Tmux("kill-server");
        }
        catch (InvalidOperationException)
        {
        }
    }

    private string Tmux(params string[] args)
    {
        var start = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-L");
        start.ArgumentList.Add(_socket);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // The tmux server (and so the command) must not inherit CI: gpu-dev would refuse to prompt.
        start.Environment.Remove("CI");
        using var p = Process.Start(start)!;
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0 && args[0] != "kill-server")
        {
            throw new InvalidOperationException($"tmux {string.Join(' ', args)} failed: {error}");
        }

        return output;
    }
}
