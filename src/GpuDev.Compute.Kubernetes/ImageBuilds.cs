using System.Net;
using System.Text;
using GpuDev.Core.Compute;
using k8s;
using k8s.Autorest;

namespace GpuDev.Compute.Kubernetes;

/// <summary>Runs the in-cluster build of a <c>--dockerfile</c> reservation (<see cref="ImageBuildObjects"/>) and follows it: until
/// the Job is done the environment is Starting with the build's latest log line; then it runs the digest the build reported.</summary>
internal sealed class ImageBuilds(IKubernetes client, KubernetesOptions options, EnvironmentObjects objects, BuildRegistryTokens? buildTokens)
{
    private string Ns => options.Namespace;

    /// <summary>The image pull secret of the reservation's pods: the per-build credentials when the image is built with them.</summary>
    public string? PullSecret(EnvironmentSpec spec) =>
        spec.Options.Dockerfile is not null && buildTokens is not null ? K8sNames.BuildAuth(spec.ReservationId) : null;

    /// <summary>The built image by digest; or null and the status to report while the build runs or after it failed.</summary>
    public async Task<(string? Image, EnvironmentStatus? Pending)> EnsureAsync(EnvironmentSpec spec, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(options.BuildRegistry))
        {
            return (null, new EnvironmentStatus(EnvironmentState.Failed, null,
                "--dockerfile needs a registry for built images: the server's Kubernetes:BuildRegistry is not set"));
        }

        var (context, job, auth) = objects.Build(spec, buildTokens?.DockerConfigJson(spec.ReservationId));
        if (auth is not null)
        {
            await ApiCalls.CreateIfMissingAsync(() => client.CoreV1.CreateNamespacedSecretAsync(auth, Ns, cancellationToken: cancellationToken));
        }

        await ApiCalls.CreateIfMissingAsync(() => client.CoreV1.CreateNamespacedConfigMapAsync(context, Ns, cancellationToken: cancellationToken));
        await ApiCalls.CreateIfMissingAsync(() => client.BatchV1.CreateNamespacedJobAsync(job, Ns, cancellationToken: cancellationToken));
        var current = await client.BatchV1.ReadNamespacedJobAsync(job.Metadata.Name, Ns, cancellationToken: cancellationToken);
        if (current.Status?.Succeeded is > 0)
        {
            var digest = await DigestAsync(spec.ReservationId, cancellationToken);
            return ImageBuildObjects.IsDigest(digest)
                ? (objects.BuiltImageByDigest(spec.ReservationId, digest!), null)
                : (null, new EnvironmentStatus(EnvironmentState.Failed, null,
                    "the image build succeeded but its container reported no sha256 digest (Kaniko --digest-file): the image is not run by tag"));
        }

        var log = await LogTailAsync(spec.ReservationId, 20, cancellationToken);
        if (current.Status?.Failed is > 0)
        {
            return (null, new EnvironmentStatus(EnvironmentState.Failed, null, $"image build failed:\n{log}".TrimEnd()));
        }

        var last = log.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        return (null, new EnvironmentStatus(EnvironmentState.Starting, null, last is null ? "building the image from the Dockerfile" : $"building the image: {last}"));
    }

    /// <summary>The digest the succeeded build pod's container left as its termination message.</summary>
    private async Task<string?> DigestAsync(string id, CancellationToken cancellationToken)
    {
        var selector = $"{K8sNames.OfReservation(id)},{K8sNames.Role}={K8sNames.BuildRole}";
        var pods = (await client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items;
        return pods.Where(p => p.Status?.Phase == "Succeeded")
            .SelectMany(p => p.Status.ContainerStatuses ?? [])
            .Where(c => c.Name == "build")
            .Select(c => c.State?.Terminated?.Message?.Trim())
            .FirstOrDefault(ImageBuildObjects.IsDigest);
    }

    private async Task<string> LogTailAsync(string id, int lines, CancellationToken cancellationToken)
    {
        var selector = $"{K8sNames.Reservation}={id},{K8sNames.Role}={K8sNames.BuildRole}";
        var pod = (await client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items.LastOrDefault();
        if (pod is null)
        {
            return "";
        }

        try
        {
            await using var stream = await client.CoreV1.ReadNamespacedPodLogAsync(pod.Metadata.Name, Ns, tailLines: lines, cancellationToken: cancellationToken);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var text = await reader.ReadToEndAsync(cancellationToken);
            return text.Length > 4000 ? text[^4000..] : text;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest)
        {
            return "";
        }
    }
}
