using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using GpuDev.Contracts;

namespace GpuDev.EndToEnd.Tests;

/// <summary><c>Kubernetes:BuildRegistryAuth=token</c> against a real registry (distribution's <c>docker-registry</c>, which
/// trusts the server's certificate) and a real client (podman) pushing with the build's credentials as Kaniko would.</summary>
public sealed partial class KubernetesTests
{
    [Fact]
    public async Task Dockerfile_PerBuildRegistryCredentials_PushOnlyToTheBuildsOwnRepository_AndEndWithTheReservation()
    {
        if (!File.Exists(RegistryBinary))
        {
            TestSkips.Skip($"per-build registry credentials: {RegistryBinary} is missing (apt-get install docker-registry)");
        }

        var registryPort = ServerProcess.FreePort();
        var registry = $"127.0.0.1:{registryPort}";
        await using var setup = await Setup.StartAsync(nodes: 1,
            new Dictionary<string, string>
            {
                ["GPUDEV_KUBERNETES__BUILDREGISTRY"] = $"{registry}/team",
                ["GPUDEV_KUBERNETES__BUILDREGISTRYAUTH"] = "token",
            },
            cluster => cluster.HoldJobs = true);
        var (cluster, server, work) = (setup.Cluster, setup.Server, setup.Work);
        using var http = new HttpClient { BaseAddress = new Uri(server.Url) };
        var certificate = await http.GetAsync(Routes.RegistryCertificate);
        Assert.True(certificate.IsSuccessStatusCode, $"{Routes.RegistryCertificate}: {certificate.StatusCode}\n{server.Log}");
        await File.WriteAllTextAsync(Path.Combine(work, "token-cert.pem"), await certificate.Content.ReadAsStringAsync());
        using var registryProcess = await StartRegistryAsync(work, registryPort, server.Url);
        var image = $"localhost/gpudev-e2e-tiny-{registryPort}";
        try
        {
            await File.WriteAllTextAsync(Path.Combine(work, "hello.txt"), "hello\n");
            E2e.Check(await Proc.RunAsync("sh", ["-c", $"tar -C '{work}' -cf - hello.txt | podman import - {image}"]));
            var cli = new E2e.Cli(server.Url, setup.Token, Path.Combine(work, "config"));
            var dockerfile = Path.Combine(work, "Dockerfile");
            await File.WriteAllTextAsync(dockerfile, "FROM busybox\nRUN echo built\n");
            var id = Parse(E2e.Check(await cli.RunAsync("reserve", "-t", "h100", "-g", "1", "-h", "1", "--dockerfile", dockerfile, "--no-wait", "--json")).Stdout).Id;

            JsonObject? secret = null;
            await WaitAsync(() => Task.FromResult((secret = cluster.Get("secrets", Ns, $"gpudev-{id}-build-auth")) is not null), "the build's registry credentials");
            var config = JsonNode.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(secret!["data"]![".dockerconfigjson"]!.GetValue<string>())))!;
            var auth = config["auths"]![registry]!;
            var creds = $"{auth["username"]!.GetValue<string>()}:{auth["password"]!.GetValue<string>()}";
            JsonObject? job = null;
            await WaitAsync(() => Task.FromResult((job = cluster.Get("jobs", Ns, $"gpudev-{id}-build")) is not null), "the build job");
            Assert.Contains($"--destination={registry}/team/gpu-dev-build/{id}:latest", job!["spec"]!["template"]!["spec"]!["containers"]![0]!["args"]!.AsArray().Select(a => a!.GetValue<string>()));

            // The build's own repository: pushed (what Kaniko does with these credentials).
            var digestFile = Path.Combine(work, "digest");
            E2e.Check(await PushAsync(image, $"{registry}/team/gpu-dev-build/{id}:latest", creds, digestFile));
            var digest = (await File.ReadAllTextAsync(digestFile)).Trim();

            // Another build's repository and any other repository: refused by the registry, nothing written.
            var other = await PushAsync(image, $"{registry}/team/gpu-dev-build/0000000000000000000000000000beef:latest", creds);
            Assert.NotEqual(0, other.ExitCode);
            Assert.Matches("denied|unauthorized|authentication required", other.Stderr);
            var elsewhere = await PushAsync(image, $"{registry}/team/base:latest", creds);
            Assert.NotEqual(0, elsewhere.ExitCode);

            // Credentials that are not a build's get no token at all.
            using (var request = new HttpRequestMessage(HttpMethod.Get, $"{Routes.RegistryToken}?service={registry}&scope=repository:team/base:push"))
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"build-{id}:guess")));
                Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(request)).StatusCode);
            }

            // containerd (the kubelet's pulls) asks with a password grant first.
            using (var form = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "password", ["username"] = creds.Split(':')[0], ["password"] = creds.Split(':')[1],
                ["service"] = registry, ["scope"] = $"repository:team/gpu-dev-build/{id}:pull", ["client_id"] = "containerd-client",
            }))
            {
                var granted = await http.PostAsync(Routes.RegistryToken, form);
                Assert.Equal(HttpStatusCode.OK, granted.StatusCode);
                Assert.NotNull(JsonNode.Parse(await granted.Content.ReadAsStringAsync())!["access_token"]);
            }

            // The build reports its digest: the pods run exactly that, pulling with the build's credentials.
            cluster.CompleteJob(Ns, $"gpudev-{id}-build", digest);
            await WaitForStatusAsync(cli, id, "active");
            var pod = cluster.Get("pods", Ns, $"gpudev-{id}-0")!;
            Assert.Equal($"{registry}/team/gpu-dev-build/{id}@{digest}", pod["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
            Assert.Equal($"gpudev-{id}-build-auth", pod["spec"]!["imagePullSecrets"]![0]!["name"]!.GetValue<string>());

            // Once the reservation has ended, its credentials push nothing, even to its own repository.
            E2e.Check(await cli.RunAsync("cancel", id, "--yes"));
            await WaitAsync(() => Task.FromResult(AllObjects(cluster, id).Count == 0), "the cancelled reservation's objects to be deleted");
            var after = await PushAsync(image, $"{registry}/team/gpu-dev-build/{id}:again", creds);
            Assert.NotEqual(0, after.ExitCode);
        }
        catch (Exception) when (Dump(server))
        {
            throw;
        }
        finally
        {
            await Proc.RunAsync("podman", ["rmi", "--force", "--ignore", image]);
            registryProcess.Kill(entireProcessTree: true);
        }
    }

    private const string RegistryBinary = "/usr/bin/docker-registry";

    private static Task<Proc.Result> PushAsync(string image, string destination, string creds, string? digestFile = null) =>
        Proc.RunAsync("podman", ["push", "--tls-verify=false", "--creds", creds, "--quiet", .. digestFile is null ? Array.Empty<string>() : ["--digestfile", digestFile], image, destination]);

    /// <summary>distribution's registry on loopback, trusting tokens of gpu-dev's token service (realm, issuer, certificate).</summary>
    private static async Task<Process> StartRegistryAsync(string work, int port, string serverUrl)
    {
        var dir = Path.Combine(work, "registry");
        Directory.CreateDirectory(dir);
        var configFile = Path.Combine(dir, "config.yml");
        await File.WriteAllTextAsync(configFile, $"""
            version: 0.1
            log:
              level: warn
            storage:
              filesystem:
                rootdirectory: {dir}/data
            http:
              addr: 127.0.0.1:{port}
            auth:
              token:
                realm: {serverUrl}{Routes.RegistryToken}
                service: 127.0.0.1:{port}
                issuer: gpu-dev
                rootcertbundle: {work}/token-cert.pem
            """);
        var info = new ProcessStartInfo(RegistryBinary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("serve");
        info.ArgumentList.Add(configFile);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var client = new HttpClient();
        await WaitAsync(async () =>
        {
            try
            {
                return (await client.GetAsync($"http://127.0.0.1:{port}/v2/")).StatusCode == HttpStatusCode.Unauthorized;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "the registry to answer");
        return process;
    }
}
