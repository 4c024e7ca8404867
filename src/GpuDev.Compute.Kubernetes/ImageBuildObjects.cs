using GpuDev.Core.Compute;
using k8s.Models;

namespace GpuDev.Compute.Kubernetes;

/// <summary>The in-cluster image build of <c>--dockerfile</c>: a ConfigMap with the Dockerfile and a Kaniko Job that
/// pushes <see cref="BuiltImage"/>; with a Docker config (per-build registry credentials, <see cref="BuildRegistryTokens"/>)
/// also a Secret that Kaniko reads as its <c>/kaniko/.docker/config.json</c> and the environment's pods use as their image
/// pull secret. The environment then runs the pushed digest, never the tag.</summary>
internal sealed class ImageBuildObjects(KubernetesOptions options)
{
    private const string TerminationLog = "/dev/termination-log";
    private const string DockerConfigKey = ".dockerconfigjson";

    /// <summary>The build's ConfigMap and Job and, with <paramref name="dockerConfigJson"/>, the Secret with its registry credentials.</summary>
    public (V1ConfigMap Context, V1Job Job, V1Secret? Auth) Build(EnvironmentSpec spec, string? dockerConfigJson = null)
    {
        var name = K8sNames.Build(spec.ReservationId);
        var auth = dockerConfigJson is null ? null : new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = EnvironmentObjects.Meta(options.Namespace, K8sNames.BuildAuth(spec.ReservationId), spec, K8sNames.BuildRole),
            Type = "kubernetes.io/dockerconfigjson",
            StringData = new Dictionary<string, string> { [DockerConfigKey] = dockerConfigJson },
        };
        var context = new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = EnvironmentObjects.Meta(options.Namespace, name, spec, K8sNames.BuildRole),
            Data = new Dictionary<string, string> { ["Dockerfile"] = spec.Options.Dockerfile ?? "" },
        };
        var job = new V1Job
        {
            ApiVersion = "batch/v1",
            Kind = "Job",
            Metadata = EnvironmentObjects.Meta(options.Namespace, name, spec, K8sNames.BuildRole),
            Spec = new V1JobSpec
            {
                BackoffLimit = 0,
                ActiveDeadlineSeconds = 3600,
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = EnvironmentObjects.Labels(spec.ReservationId, K8sNames.BuildRole) },
                    Spec = new V1PodSpec
                    {
                        RestartPolicy = "Never",
                        AutomountServiceAccountToken = false,
                        SecurityContext = EnvironmentObjects.PodSecurity(),
                        Containers =
                        [
                            new V1Container
                            {
                                Name = "build",
                                Image = options.BuildImage,
                                Args = ["--dockerfile=/workspace/Dockerfile", "--context=dir:///workspace", $"--destination={BuiltImage(spec.ReservationId)}",
                                    // The pushed digest becomes the container's termination message: the pod runs that, not the tag.
                                    $"--digest-file={TerminationLog}"],
                                TerminationMessagePath = TerminationLog,
                                TerminationMessagePolicy = "File",
                                VolumeMounts = auth is null
                                    ? [EnvironmentPod.Mount("/workspace", "context", readOnly: true)]
                                    : [EnvironmentPod.Mount("/workspace", "context", readOnly: true), EnvironmentPod.Mount("/kaniko/.docker", "registry-auth", readOnly: true)],
                                Resources = new V1ResourceRequirements
                                {
                                    Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("1"), ["memory"] = new("2Gi") },
                                    Limits = new Dictionary<string, ResourceQuantity> { ["memory"] = new("8Gi") },
                                },
                            },
                        ],
                        Volumes = auth is null
                            ? [new V1Volume { Name = "context", ConfigMap = new V1ConfigMapVolumeSource { Name = name } }]
                            :
                            [
                                new V1Volume { Name = "context", ConfigMap = new V1ConfigMapVolumeSource { Name = name } },
                                new V1Volume
                                {
                                    Name = "registry-auth",
                                    Secret = new V1SecretVolumeSource { SecretName = auth.Metadata.Name, Items = [new V1KeyToPath { Key = DockerConfigKey, Path = "config.json" }] },
                                },
                            ],
                    },
                },
            },
        };
        return (context, job, auth);
    }

    /// <summary>The tag the build pushes: <c>latest</c> of the reservation's own repository
    /// (<c>&lt;BuildRegistry&gt;/gpu-dev-build/&lt;id&gt;</c>), so per-build credentials can be scoped to it.</summary>
    public string BuiltImage(string reservationId) => $"{BuiltRepository(reservationId)}:latest";

    /// <summary>What the environment runs: the repository at the digest the build reported, so nothing pushed to the
    /// tag afterwards (another build, anyone with push rights) is what the pod pulls.</summary>
    public string BuiltImageByDigest(string reservationId, string digest) =>
        IsDigest(digest) ? $"{BuiltRepository(reservationId)}@{digest}" : throw new ArgumentException($"'{digest}' is not a sha256 image digest.", nameof(digest));

    public static bool IsDigest(string? value) => value is { Length: 71 } && value.StartsWith("sha256:", StringComparison.Ordinal) && value[7..].All(char.IsAsciiHexDigitLower);

    private string BuiltRepository(string reservationId) => K8sNames.BuiltRepository(options.BuildRegistry, reservationId);
}
