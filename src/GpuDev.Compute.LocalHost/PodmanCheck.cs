namespace GpuDev.Compute.LocalHost;

/// <summary>What the local provider needs before it takes reservations, checked once at start-up by running a real container
/// of the image: podman, its OCI runtime, the image, for rootless podman the subordinate id ranges, and on a GPU host the CDI
/// specification of the GPUs. Each problem is one line that names what to install or run.</summary>
/// <param name="cdiDirs">Where CDI specifications are looked for; default <c>/etc/cdi</c> and <c>/var/run/cdi</c>.</param>
/// <param name="subIdFiles">The subordinate id files rootless podman needs; default <c>/etc/subuid</c> and <c>/etc/subgid</c>.</param>
internal sealed class PodmanCheck(Podman podman, LocalHostOptions options, bool rootless, IReadOnlyList<string>? cdiDirs = null, IReadOnlyList<string>? subIdFiles = null)
{
    private readonly IReadOnlyList<string> _cdiDirs = cdiDirs ?? ["/etc/cdi", "/var/run/cdi"];
    private readonly IReadOnlyList<string> _subIdFiles = subIdFiles ?? ["/etc/subuid", "/etc/subgid"];

    public async Task<IReadOnlyList<string>> RunAsync(bool realGpus, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        if (!Path.IsPathFullyQualified(podman.Path) ? ProcessRunner.FindOnPath(podman.Path) is null : !File.Exists(podman.Path))
        {
            return ["the local provider runs every reservation in a podman container, and podman is not installed: apt-get install podman runc (Debian), or choose --provider kubernetes"];
        }

        if (rootless)
        {
            var user = Environment.UserName;
            if (ProcessRunner.FindOnPath("newuidmap") is null)
            {
                problems.Add("rootless podman needs newuidmap/newgidmap: apt-get install uidmap");
            }

            foreach (var file in _subIdFiles)
            {
                if (!File.Exists(file) || !File.ReadLines(file).Any(l => l.StartsWith(user + ":", StringComparison.Ordinal)))
                {
                    problems.Add($"rootless podman needs a range for {user} in {file}: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {user}");
                }
            }

            if (problems.Count > 0)
            {
                return problems;
            }
        }

        if (realGpus && !_cdiDirs.Any(d => Directory.Exists(d) && Directory.EnumerateFiles(d).Any(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal))))
        {
            problems.Add("NVIDIA GPUs were found but there is no CDI specification for them (/etc/cdi or /var/run/cdi): install the NVIDIA Container Toolkit and run nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml, or declare simulated GPUs with --local-gpus");
        }

        var exists = await podman.RunAsync(["image", "exists", options.DefaultImage], cancellationToken).ConfigureAwait(false);
        if (exists.TimedOut || (!exists.Succeeded && exists.ExitCode != 1))
        {
            problems.Add("podman does not work here: " + exists.Describe("podman image exists") + Podman.Detail(exists));
            return problems;
        }

        if (!exists.Succeeded)
        {
            problems.Add(options.DefaultImage == LocalHostOptions.DevboxImage
                ? $"the environment image {options.DefaultImage} is missing: build it with images/devbox/build.sh (needs apt-get install mmdebstrap), or choose one with --image"
                : $"the environment image {options.DefaultImage} is missing: podman pull or podman build it first, or choose another with --image");
            return problems;
        }

        var run = await podman.RunAsync(["run", "--rm", "--network", "none", .. podman.RunFlags, "--entrypoint", "/bin/sh", options.DefaultImage, "-c", "exit 0"], cancellationToken).ConfigureAwait(false);
        if (!run.Succeeded)
        {
            var reason = run.Describe("podman run") + Podman.Detail(run);
            problems.Add(reason.Contains("cgroup", StringComparison.OrdinalIgnoreCase) && podman.Runtime is not "runc"
                ? "podman cannot run a container here (" + reason + "): apt-get install runc (crun does not work with cgroup v1/hybrid), or set LocalHost:Runtime"
                : "podman cannot run a container of " + options.DefaultImage + " here: " + reason);
        }

        return problems;
    }
}
