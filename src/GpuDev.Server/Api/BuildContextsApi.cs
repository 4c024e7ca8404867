using System.Security.Cryptography;
using GpuDev.Core.Reservations;
using GpuDev.Server.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Api;

/// <summary>Build contexts of <c>--dockerfile</c>: <c>PUT /api/v1/build-contexts/{sha256}</c> with a gzip-compressed tar (at most
/// <see cref="BuildContexts.MaxBytes"/>) stores it under the data directory, named by its content hash, which the body must
/// match; a reservation then names it in <c>buildContext</c>. Idempotent (the same content is stored once) and write-only:
/// nobody reads a context back through the API.</summary>
public static class BuildContextsApi
{
    public static RouteGroupBuilder MapBuildContextsApi(this RouteGroupBuilder api)
    {
        api.MapPut("/build-contexts/{sha256}", UploadAsync).WithName("UploadBuildContext").WithTags("Reservations");
        return api;
    }

    private static async Task<Results<Created, Ok, ProblemHttpResult>> UploadAsync(
        string sha256, HttpContext http, IOptions<ServerOptions> options, CancellationToken cancellationToken)
    {
        if (!BuildContexts.IsValidId(sha256))
        {
            return Problems.BadRequest($"A build context is named by its SHA-256: 64 lowercase hex characters; got '{Shorten(sha256)}'.", "sha256");
        }

        var path = Path.Combine(options.Value.DataDir, BuildContexts.RelativePath(sha256));
        if (File.Exists(path))
        {
            return TypedResults.Ok();
        }

        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = BuildContexts.MaxBytes;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long total = 0;
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true))
            {
                var buffer = new byte[81920];
                int read;
                while ((read = await http.Request.Body.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    total += read;
                    if (total > BuildContexts.MaxBytes)
                    {
                        return TooLarge();
                    }

                    hash.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }
            }

            var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (actual != sha256)
            {
                return Problems.BadRequest($"The body's SHA-256 is {actual}, not the {sha256} of the URL.", "sha256");
            }

            File.Move(temp, path, overwrite: true);
            return TypedResults.Created(Contracts.Routes.BuildContext(sha256));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge();
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private static ProblemHttpResult TooLarge() =>
        Problems.Create(StatusCodes.Status413PayloadTooLarge, Contracts.ProblemCodes.BadRequest, "The build context is too large.",
            $"A build context is at most {BuildContexts.MaxBytes / (1024 * 1024)} MiB (compressed).");

    private static string Shorten(string text) => text.Length > 70 ? text[..70] + "…" : text;
}
