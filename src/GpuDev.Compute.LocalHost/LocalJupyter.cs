using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using GpuDev.Core.Compute;
using Microsoft.Extensions.Logging;

namespace GpuDev.Compute.LocalHost;

/// <summary>Jupyter from the image (Lab where installed, else Notebook) on rank 0, as the contract runs it: wanted while
/// <c>config/jupyter</c> exists, started and stopped by the entry's <c>sync</c> as <c>dev</c> with the sessions' variables and
/// the reservation's token, on port 8888 published at the reservation's Jupyter port.</summary>
internal sealed class LocalJupyter(Podman podman, LocalHostOptions options, TimeProvider timeProvider, ILogger logger)
{
    private const string FindJupyterScript = "command -v jupyter-lab || command -v jupyter-notebook";

    private static readonly HttpClient s_http = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        ConnectTimeout = TimeSpan.FromSeconds(2),
    })
    {
        Timeout = TimeSpan.FromSeconds(3),
    };

    private readonly SemaphoreSlim _lock = new(1, 1);

    public async Task<JupyterEndpoint> StartAsync(EnvironmentLayout layout, CancellationToken cancellationToken)
    {
        var reservationId = layout.ReservationId;
        var started = timeProvider.GetTimestamp();
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var container = layout.Container(0);
            if (EnvironmentRecordFile.Read(layout) is not { } record || await podman.StateAsync(container, cancellationToken).ConfigureAwait(false) is not { Status: "running" })
            {
                throw new EnvironmentUnavailableException("The environment is not running, so Jupyter cannot start in it.");
            }

            var find = await podman.RunAsync(["exec", container, "/bin/sh", "-c", FindJupyterScript], cancellationToken).ConfigureAwait(false);
            var program = find.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
            if (!find.Succeeded || program is null)
            {
                throw new EnvironmentUnavailableException($"Jupyter is not installed in the image {record.Image} (it has neither jupyter-lab nor jupyter-notebook)");
            }

            var kind = program.EndsWith("jupyter-lab", StringComparison.Ordinal) ? "lab" : "notebook";
            var token = (await File.ReadAllTextAsync(Path.Combine(layout.KeysDir, EnvironmentContract.JupyterTokenFile), cancellationToken).ConfigureAwait(false)).Trim();
            var wish = Path.Combine(layout.ConfigDir, EnvironmentContract.JupyterFile);
            FileWrites.WriteIfChanged(wish, kind + "\n", "644");
            await podman.SyncAsync(container, cancellationToken).ConfigureAwait(false);
            if (await WaitJupyterAsync(container, record.JupyterPort, token, cancellationToken).ConfigureAwait(false) is { } problem)
            {
                var log = await podman.RunAsync(["exec", container, "tail", "-n", "3", "/run/gpu-dev/jupyter.log"], cancellationToken).ConfigureAwait(false);
                FileWrites.DeleteIfPresent(wish);
                await podman.SyncAsync(container, cancellationToken).ConfigureAwait(false);
                var tail = string.Join(" | ", log.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                var reason = problem + ": " + (tail.Length > 0 ? tail : "no output");
                Log.JupyterFailed(logger, reservationId, reason);
                throw new EnvironmentUnavailableException("Jupyter did not start: " + reason);
            }

            Log.JupyterStarted(logger, reservationId, kind, record.JupyterPort, (long)timeProvider.GetElapsedTime(started).TotalMilliseconds);
            var host = options.SshHost.Contains(':', StringComparison.Ordinal) ? "[" + options.SshHost + "]" : options.SshHost;
            var page = kind == "lab" ? "lab" : "tree";
            return new JupyterEndpoint($"http://{host}:{record.JupyterPort.ToString(CultureInfo.InvariantCulture)}/{page}?token={token}", token);
        }
        finally
        {
            _lock.Release();
        }
    }

    public async Task StopAsync(EnvironmentLayout layout, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var wish = Path.Combine(layout.ConfigDir, EnvironmentContract.JupyterFile);
            if (File.Exists(wish))
            {
                File.Delete(wish);
                await podman.SyncAsync(layout.Container(0), cancellationToken).ConfigureAwait(false);
                Log.JupyterStopped(logger, layout.ReservationId);
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Waits until Jupyter answers an authenticated <c>GET /api/status</c> on its published port; null when it does, else why not.</summary>
    private async Task<string?> WaitJupyterAsync(string container, int port, string token, CancellationToken cancellationToken)
    {
        var probeHost = PublishedPorts.ProbeHost(options);
        var host = probeHost.Contains(':', StringComparison.Ordinal) ? "[" + probeHost + "]" : probeHost;
        var url = new Uri($"http://{host}:{port.ToString(CultureInfo.InvariantCulture)}/api/status");
        var start = timeProvider.GetTimestamp();
        var last = "no answer";
        for (var round = 0; ; round++)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                request.Headers.Authorization = new AuthenticationHeaderValue("token", token);
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

            if (timeProvider.GetElapsedTime(start) > options.JupyterStartTimeout)
            {
                return $"no answer on port {port.ToString(CultureInfo.InvariantCulture)} within {options.JupyterStartTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s ({last})";
            }

            // The entry records Jupyter's pid; once that process is gone, waiting longer is pointless.
            if (round % 10 == 9)
            {
                var alive = await podman.RunAsync(["exec", container, "/bin/sh", "-c", "kill -0 \"$(cat /run/gpu-dev/jupyter.pid)\""], cancellationToken).ConfigureAwait(false);
                if (!alive.Succeeded)
                {
                    return "it exited";
                }
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }
}
