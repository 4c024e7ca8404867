using System.Globalization;
using GpuDev.Cli.Builds;
using GpuDev.Cli.Client;
using GpuDev.Contracts;

namespace GpuDev.Cli.Commands.Reserve;

/// <summary>The build context of <c>reserve --dockerfile</c>: packed and uploaded before the reservation is created.</summary>
internal sealed class BuildContextUpload(CliServices services)
{
    /// <summary>With <c>--dockerfile</c> on a provider that builds from a context (local): packs the Dockerfile's directory and
    /// uploads it first, so that <c>COPY</c>/<c>ADD</c> find their files.</summary>
    public async Task<CreateReservationRequest> AttachAsync(GpuDevClient client, CreateReservationRequest request, string? dockerfile, CancellationToken cancellationToken)
    {
        if (dockerfile is null || request.Dockerfile is null)
        {
            return request;
        }

        var me = await client.GetMeAsync(cancellationToken).ConfigureAwait(false);
        if (me.Provider != "local")
        {
            return request;
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(dockerfile))!;
        using var packed = await BuildContextPacker.PackAsync(directory, cancellationToken).ConfigureAwait(false);
        services.Console.Error.WriteLine($"Uploading the build context {directory} ({packed.Entries.ToString(CultureInfo.InvariantCulture)} entries, {(packed.Bytes / 1024.0).ToString("0.#", CultureInfo.InvariantCulture)} KiB)...");
        await client.UploadBuildContextAsync(packed.Sha256, packed.File, cancellationToken).ConfigureAwait(false);
        return request with { BuildContext = packed.Sha256 };
    }
}
