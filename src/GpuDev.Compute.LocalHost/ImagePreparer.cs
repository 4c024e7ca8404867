using System.Collections.Concurrent;
using GpuDev.Core.Compute;
using GpuDev.Core.Reservations;
using Microsoft.Extensions.Logging;

namespace GpuDev.Compute.LocalHost;

/// <summary>The image of a reservation: the default one, <c>--dockerimage</c> (pulled when this host does not have it), or
/// <c>--dockerfile</c> built with <c>podman build</c> from its uploaded build context into
/// <c>localhost/gpu-dev/build:&lt;id&gt;</c> (removed with the environment). A pull or build runs in the background, so the
/// provisioning worker is not held for minutes: until it is done, <see cref="PrepareAsync"/> answers "not yet" with its
/// latest step, which the server notes in the reservation's history.</summary>
internal sealed class ImagePreparer(Podman podman, LocalHostOptions options, string dataDir, ILogger logger)
{
    private const int MaxNoteLength = 300;

    /// <summary>Opens the archive <c>$1</c> as root (the server's data is not readable by nobody) and unpacks it into <c>$2</c> as nobody.</summary>
    // The shell (root) enters the context directory and opens the archive; tar runs as nobody in that directory, so it
    // needs no search right on the state directories above it (0700 under quickstart's umask 077). umask 022: the files
    // keep the modes they had on the user's machine (as `docker build` sends them), not the server's private umask.
    private const string UnpackScript = "umask 022 && cd \"$2\" && exec setpriv --reuid=65534 --regid=65534 --clear-groups tar -xzf - --no-same-owner < \"$1\"";

    private readonly ConcurrentDictionary<string, Work> _work = new(StringComparer.Ordinal);

    public static string BuiltImage(string reservationId) => "localhost/gpu-dev/build:" + reservationId;

    /// <summary>The image to run; or null and why not yet (a pull or build under way), or null and the failure.</summary>
    public async Task<(string? Image, string? Waiting, string? Failure)> PrepareAsync(EnvironmentSpec spec, string buildDir, CancellationToken cancellationToken)
    {
        var options = spec.Options;
        string image;
        if (options.Dockerfile is not null)
        {
            image = BuiltImage(spec.ReservationId);
        }
        else if (options.DockerImage is { Length: > 0 } custom)
        {
            image = custom;
        }
        else
        {
            return (DefaultImage, null, null);
        }

        if ((await podman.RunAsync(["image", "exists", image], cancellationToken).ConfigureAwait(false)).Succeeded)
        {
            _work.TryRemove(spec.ReservationId, out _);
            return (image, null, null);
        }

        var work = _work.GetOrAdd(spec.ReservationId, _ => Start(spec, image, buildDir));
        if (!work.Task.IsCompleted)
        {
            return (null, work.Latest, null);
        }

        _work.TryRemove(spec.ReservationId, out _);
        var failure = await work.Task.ConfigureAwait(false);
        return failure is null ? (image, null, null) : (null, null, failure);
    }

    private string DefaultImage => options.DefaultImage;

    /// <summary>Removes the image built for the reservation (a pulled image stays: other reservations may use it).</summary>
    public async Task RemoveAsync(string reservationId, CancellationToken cancellationToken)
    {
        _work.TryRemove(reservationId, out _);
        await podman.RunAsync(["rmi", "--force", "--ignore", BuiltImage(reservationId)], cancellationToken).ConfigureAwait(false);
    }

    private Work Start(EnvironmentSpec spec, string image, string buildDir)
    {
        var work = new Work();
        work.Latest = spec.Options.Dockerfile is not null ? "building the image from the Dockerfile" : $"pulling {image}";

        // Not tied to one Ensure call: the next call picks the result up.
        work.Task = Task.Run(() => spec.Options.Dockerfile is { } dockerfile
            ? BuildAsync(spec, dockerfile, image, buildDir, work)
            : PullAsync(spec.ReservationId, image, work));
        return work;
    }

    private async Task<string?> PullAsync(string reservationId, string image, Work work)
    {
        var result = await ProcessRunner.RunStreamingAsync(podman.Path, ["pull", image], options.BuildTimeout, _ => { }, CancellationToken.None).ConfigureAwait(false);
        if (result.Succeeded)
        {
            Log.ImageReady(logger, reservationId, image, "pulled");
            return null;
        }

        return Fail(reservationId, $"podman pull {image} failed: {Tail(result)}");
    }

    private async Task<string?> BuildAsync(EnvironmentSpec spec, string dockerfile, string image, string buildDir, Work work)
    {
        try
        {
            var context = Path.Combine(buildDir, "context");
            if (Directory.Exists(buildDir))
            {
                Directory.Delete(buildDir, recursive: true);
            }

            Directory.CreateDirectory(context);
            if (spec.Options.BuildContext is { } id)
            {
                var archive = Path.Combine(dataDir, BuildContexts.RelativePath(id));
                if (!File.Exists(archive))
                {
                    return Fail(spec.ReservationId, $"the build context {id} is not on this server any more");
                }

                // Unpacked as nobody: a hostile archive (links, '..') can only write what nobody may.
                FileWrites.SetMode(buildDir, "711");
                await ProcessRunner.RunAsync("chown", ["65534:65534", context], options.CommandTimeout, CancellationToken.None).ConfigureAwait(false);
                var unpack = await ProcessRunner.RunAsync(
                    "/bin/sh", ["-c", UnpackScript, "sh", archive, context], options.BuildTimeout, CancellationToken.None).ConfigureAwait(false);
                if (!unpack.Succeeded)
                {
                    return Fail(spec.ReservationId, "the build context could not be unpacked: " + Tail(unpack));
                }
            }

            var file = Path.Combine(buildDir, "Dockerfile");
            FileWrites.WriteAtomically(file, dockerfile, "644");
            var result = await ProcessRunner.RunStreamingAsync(
                podman.Path, ["build", "--file", file, "--tag", image, .. podman.RunFlags, context],
                options.BuildTimeout,
                line =>
                {
                    if (line.StartsWith("STEP ", StringComparison.Ordinal))
                    {
                        work.Latest = "building the image: " + Shorten(line);
                    }
                },
                CancellationToken.None).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                return Fail(spec.ReservationId, "the image build failed: " + Tail(result));
            }

            Log.ImageReady(logger, spec.ReservationId, image, "built");
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            return Fail(spec.ReservationId, "the image build failed: " + ex.Message);
        }
    }

    private string Fail(string reservationId, string reason)
    {
        Log.ImageFailed(logger, reservationId, reason);
        return reason;
    }

    private static string Tail(ProcessResult result) =>
        result.TimedOut ? "timed out" : Shorten(string.Join(" | ", result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(3)));

    private static string Shorten(string text) => text.Length <= MaxNoteLength ? text : text[..MaxNoteLength] + "…";

    private sealed class Work
    {
        public Task<string?> Task { get; set; } = System.Threading.Tasks.Task.FromResult<string?>(null);

        public string Latest { get; set; } = string.Empty;
    }
}
