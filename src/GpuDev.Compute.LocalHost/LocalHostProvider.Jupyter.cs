using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using GpuDev.Core.Compute;

namespace GpuDev.Compute.LocalHost;

/// <summary>Jupyter (Lab where installed, else Notebook) on rank 0, in the same sandbox and with the same variables as SSH sessions.</summary>
internal sealed partial class LocalHostProvider
{
    private const string SessionPath = "/usr/local/bin:/usr/bin:/bin";

    /// <summary>Run as root by <c>setsid -f</c>: records its pid (kept through the execs), sends the output to the log
    /// (both in the root-owned environment directory) and execs the rest of its arguments.</summary>
    private const string JupyterLauncherScript = "echo $$ >\"$1\" || exit 1; exec >>\"$2\" 2>&1 </dev/null; shift 2; exec \"$@\"";

    /// <summary>Run as the user: keeps a parent for the sandbox (bubblewrap's <c>--die-with-parent</c>) and waits for it.</summary>
    private const string JupyterHolderScript = "\"$0\" & wait $!";

    private static readonly HttpClient s_http = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        ConnectTimeout = TimeSpan.FromSeconds(2),
    })
    {
        Timeout = TimeSpan.FromSeconds(3),
    };

    private readonly SemaphoreSlim _jupyterLock = new(1, 1);

    public async Task<JupyterEndpoint> StartJupyterAsync(string reservationId, CancellationToken cancellationToken)
    {
        ValidateId(reservationId);
        var layout = new EnvironmentLayout(StateDir, reservationId);
        var started = timeProvider.GetTimestamp();
        await _jupyterLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (ReadJupyter(layout) is { } existing)
            {
                if (IsRunning(existing) && await WaitJupyterAsync(existing, cancellationToken).ConfigureAwait(false) is null)
                {
                    return JupyterEndpointOf(existing);
                }

                await KillJupyterAsync(layout, existing, cancellationToken).ConfigureAwait(false);
            }

            var (kind, program) = FindJupyter()
                ?? throw new EnvironmentUnavailableException("Jupyter is not installed on this host: install jupyter-notebook (Debian) or JupyterLab");

            JupyterRecord jupyter;
            await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var record = ReadRecord(layout);
                if (record is null || !File.Exists(layout.EnterScript) || ProcessTable.FindSshd(layout.SshdConfig, _options.SshdPath).Count == 0)
                {
                    throw new EnvironmentUnavailableException("The environment is not running, so Jupyter cannot start in it.");
                }

                var port = ChoosePort(reservationId, Enumerable.Range(0, record.NodeCount).Select(record.PortOf));
                var token = RandomNumberGenerator.GetHexString(32, lowercase: true);
                jupyter = await LaunchJupyterAsync(WithDisk(layout, record), record, kind, program, port, token, cancellationToken).ConfigureAwait(false);
                WriteFileIfChanged(layout.JupyterFile, JsonSerializer.Serialize(jupyter, LocalHostJsonContext.Default.JupyterRecord), "600");
            }
            finally
            {
                _lock.Release();
            }

            if (await WaitJupyterAsync(jupyter, cancellationToken).ConfigureAwait(false) is { } problem)
            {
                await KillJupyterAsync(layout, jupyter, cancellationToken).ConfigureAwait(false);
                var reason = problem + ": " + JupyterLogTail(layout);
                Log.JupyterFailed(logger, reservationId, reason);
                throw new EnvironmentUnavailableException("Jupyter did not start: " + reason);
            }

            Log.JupyterStarted(logger, reservationId, kind, jupyter.Port, (long)timeProvider.GetElapsedTime(started).TotalMilliseconds, jupyter.Pid);
            return JupyterEndpointOf(jupyter);
        }
        finally
        {
            _jupyterLock.Release();
        }
    }

    public async Task StopJupyterAsync(string reservationId, CancellationToken cancellationToken)
    {
        ValidateId(reservationId);
        var layout = new EnvironmentLayout(StateDir, reservationId);
        await _jupyterLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (ReadJupyter(layout) is { } jupyter)
            {
                var killed = await KillJupyterAsync(layout, jupyter, cancellationToken).ConfigureAwait(false);
                Log.JupyterStopped(logger, reservationId, killed);
            }
        }
        finally
        {
            _jupyterLock.Release();
        }
    }

    /// <summary><c>jupyter-lab</c> when it is on the PATH, else <c>jupyter-notebook</c>, else null.</summary>
    private (string Kind, string Program)? FindJupyter()
    {
        if (ProcessRunner.FindOnPath("jupyter-lab", _options.JupyterSearchPath) is { } lab)
        {
            return ("lab", lab);
        }

        return ProcessRunner.FindOnPath("jupyter-notebook", _options.JupyterSearchPath) is { } notebook ? ("notebook", notebook) : null;
    }

    /// <summary>Starts Jupyter detached (own session) through rank 0's ForceCommand script, i.e. in its sandbox, as its user,
    /// with the variables its sshd gives sessions; returns once the launcher has recorded its pid.</summary>
    private async Task<JupyterRecord> LaunchJupyterAsync(
        EnvironmentLayout layout, EnvironmentRecord record, string kind, string program, int port, string token, CancellationToken cancellationToken)
    {
        var bind = JupyterBindAddress(_options.SshHost);
        var portText = port.ToString(CultureInfo.InvariantCulture);
        List<string> jupyter = [program, "--no-browser"];

        // Notebook 6 reads NotebookApp; Lab and Notebook 7 (jupyter_server) read ServerApp. Each ignores
        // the sections it does not know, so both are given.
        foreach (var app in kind == "lab" ? ["ServerApp"] : new[] { "NotebookApp", "ServerApp" })
        {
            jupyter.AddRange([
                $"--{app}.ip={bind}", $"--{app}.port={portText}", $"--{app}.port_retries=0", $"--{app}.password=", $"--{app}.open_browser=False",
            ]);
            if (bind == "0.0.0.0")
            {
                jupyter.Add($"--{app}.allow_remote_access=True");
            }
        }

        var command = "exec " + string.Join(' ', jupyter.Select(SessionFiles.ShellQuote));

        // The token travels in the environment (JUPYTER_TOKEN, read by Notebook and jupyter_server), never on a command line.
        var sandboxed = File.ReadAllText(layout.EnterScript).Contains("sandbox=(" + SessionFiles.ShellQuote(_options.BwrapPath), StringComparison.Ordinal);
        List<KeyValuePair<string, string>> env =
        [
            new("PATH", SessionPath), new("USER", record.User), new("LOGNAME", record.User), new("SHELL", "/bin/bash"), new("LANG", "C.UTF-8"),
            new("HOME", sandboxed ? SessionFiles.SandboxHome : layout.Home),
        ];
        env.AddRange(ReadSessionEnvironment(layout));
        env.AddRange([new("JUPYTER_TOKEN", token), new("SSH_ORIGINAL_COMMAND", command)]);

        List<string> asUser = ["/bin/sh", "-c", JupyterHolderScript, layout.EnterScript];
        if (_isRoot)
        {
            var account = await LookupUserAsync(layout.UserName, cancellationToken).ConfigureAwait(false)
                ?? throw new EnvironmentUnavailableException("The environment's user does not exist, so Jupyter cannot start in it.");
            asUser =
            [
                "/usr/bin/setpriv", "--reuid", account.Uid.ToString(CultureInfo.InvariantCulture), "--regid", account.Gid.ToString(CultureInfo.InvariantCulture),
                "--init-groups", .. asUser,
            ];
        }

        // The log may show the token: readable by root only.
        File.Delete(layout.JupyterPidFile);
        File.WriteAllText(layout.JupyterLog, string.Empty);
        SetMode(layout.JupyterLog, "600");
        var launch = await ProcessRunner.RunAsync(
            "/usr/bin/setsid", ["-f", "/bin/sh", "-c", JupyterLauncherScript, "sh", layout.JupyterPidFile, layout.JupyterLog, .. asUser],
            _options.CommandTimeout, cancellationToken, env).ConfigureAwait(false);
        if (!launch.Succeeded)
        {
            throw new EnvironmentUnavailableException("Jupyter did not start: " + launch.Describe("setsid") + " " + launch.StdErr.Trim());
        }

        var start = timeProvider.GetTimestamp();
        while (true)
        {
            if (File.Exists(layout.JupyterPidFile)
                && int.TryParse(File.ReadAllText(layout.JupyterPidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && ProcessTable.StartTime(pid) is { } startTime)
            {
                File.Delete(layout.JupyterPidFile);
                return new JupyterRecord(pid, startTime, port, token, kind);
            }

            if (timeProvider.GetElapsedTime(start) > _options.CommandTimeout)
            {
                throw new EnvironmentUnavailableException("Jupyter did not start: its launcher did not report a process. " + JupyterLogTail(layout));
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Waits until Jupyter answers an authenticated <c>GET /api/status</c>; null when it does, else why not.</summary>
    private async Task<string?> WaitJupyterAsync(JupyterRecord jupyter, CancellationToken cancellationToken)
    {
        var bind = JupyterBindAddress(_options.SshHost);
        var probeHost = bind == "0.0.0.0" ? "127.0.0.1" : bind.Contains(':', StringComparison.Ordinal) ? "[" + bind + "]" : bind;
        var url = new Uri($"http://{probeHost}:{jupyter.Port.ToString(CultureInfo.InvariantCulture)}/api/status");
        var start = timeProvider.GetTimestamp();
        string last = "no answer";
        while (true)
        {
            if (!IsRunning(jupyter))
            {
                return "it exited";
            }

            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                request.Headers.Authorization = new AuthenticationHeaderValue("token", jupyter.Token);
                using var response = await s_http.SendAsync(request, cancellationToken).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return null;
                }

                last = "HTTP " + ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                last = ex.Message;
            }

            if (timeProvider.GetElapsedTime(start) > _options.JupyterStartTimeout)
            {
                return $"no answer on port {jupyter.Port.ToString(CultureInfo.InvariantCulture)} within {_options.JupyterStartTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s ({last})";
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Kills the launcher and everything under it (Jupyter, its kernels and terminals) and forgets it.</summary>
    private async Task<int> KillJupyterAsync(EnvironmentLayout layout, JupyterRecord jupyter, CancellationToken cancellationToken)
    {
        var killed = 0;
        var start = timeProvider.GetTimestamp();
        var victims = JupyterProcesses(jupyter);
        while (true)
        {
            var snapshot = ProcessTable.Snapshot();
            victims.RemoveWhere(pid => !snapshot.Any(e => e.Pid == pid && e.State is not ('Z' or 'X')));
            if (victims.Count == 0)
            {
                break;
            }

            if (timeProvider.GetElapsedTime(start) > _options.StopTimeout)
            {
                throw new InvalidOperationException($"Jupyter processes of environment {layout.ReservationId} survived SIGKILL: {string.Join(',', victims)}");
            }

            killed = Math.Max(killed, victims.Count);
            await ProcessRunner.RunAsync("kill", ["-KILL", .. victims.Select(p => p.ToString(CultureInfo.InvariantCulture))], _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
            await Task.Delay(_options.PollInterval, timeProvider, cancellationToken).ConfigureAwait(false);
        }

        DeleteIfPresent(layout.JupyterFile);
        DeleteIfPresent(layout.JupyterPidFile);
        return killed;
    }

    /// <summary>The launcher and its live descendants; empty when the recorded process is gone (or its pid was reused).</summary>
    private static HashSet<int> JupyterProcesses(JupyterRecord jupyter) =>
        IsRunning(jupyter) ? ProcessTable.WithDescendants(ProcessTable.Snapshot(), [jupyter.Pid]) : [];

    private static bool IsRunning(JupyterRecord jupyter) => ProcessTable.StartTime(jupyter.Pid) == jupyter.StartTime;

    private JupyterEndpoint JupyterEndpointOf(JupyterRecord jupyter)
    {
        var host = _options.SshHost.Contains(':', StringComparison.Ordinal) ? "[" + _options.SshHost + "]" : _options.SshHost;
        var page = jupyter.Kind == "lab" ? "lab" : "tree";
        return new JupyterEndpoint($"http://{host}:{jupyter.Port.ToString(CultureInfo.InvariantCulture)}/{page}?token={jupyter.Token}", jupyter.Token);
    }

    /// <summary>Loopback when clients reach the host on a loopback address, else every address (like the sshd listeners).</summary>
    private static string JupyterBindAddress(string sshHost)
    {
        if (sshHost == "localhost")
        {
            return "127.0.0.1";
        }

        return IPAddress.TryParse(sshHost, out var ip) && IPAddress.IsLoopback(ip) ? ip.ToString() : "0.0.0.0";
    }

    /// <summary>Deletes a file; nothing when it or its directory is gone (the environment may have been removed meanwhile).</summary>
    private static void DeleteIfPresent(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (DirectoryNotFoundException)
        {
            // Removed with its environment.
        }
    }

    private static JupyterRecord? ReadJupyter(EnvironmentLayout layout)
    {
        try
        {
            return File.Exists(layout.JupyterFile)
                ? JsonSerializer.Deserialize(File.ReadAllText(layout.JupyterFile), LocalHostJsonContext.Default.JupyterRecord)
                : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    /// <summary>The variables rank 0's sshd gives sessions (its <c>SetEnv</c> line; values never contain quotes).</summary>
    private static List<KeyValuePair<string, string>> ReadSessionEnvironment(EnvironmentLayout layout)
    {
        var vars = new List<KeyValuePair<string, string>>();
        foreach (var line in File.ReadLines(layout.SshdConfig))
        {
            if (line.StartsWith("SetEnv ", StringComparison.Ordinal))
            {
                foreach (Match match in SetEnvItem().Matches(line))
                {
                    var item = match.Groups[1].Value;
                    var eq = item.IndexOf('=', StringComparison.Ordinal);
                    if (eq > 0)
                    {
                        vars.Add(new(item[..eq], item[(eq + 1)..]));
                    }
                }

                break;
            }
        }

        return vars;
    }

    private static string JupyterLogTail(EnvironmentLayout layout)
    {
        var lines = ReadLogFrom(layout.JupyterLog, 0).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "no output" : string.Join(" | ", lines.TakeLast(3));
    }

    [GeneratedRegex("\"([^\"]*)\"", RegexOptions.CultureInvariant)]
    private static partial Regex SetEnvItem();
}
